import { execFile } from 'node:child_process';
import { errnoCode } from '../errno.js';
import { fuseDevice } from './kernel/native.js';

/**
 * Unmounts a FUSE mount point, or throws an Error saying why it could not (never silently).
 * Root needs no helper program: the addon calls umount2(2), as it mounts with mount(2); users who
 * may not unmount go through fuse3's setuid fusermount3 (the addon runs it). Without the addon
 * (no C compiler), the first of fusermount3, fusermount and umount(8) found does it.
 * `lazy` detaches at once even while programs use the mount (MNT_DETACH, umount -l).
 */
export async function unmountPath(mountpoint: string, { lazy }: { lazy: boolean }): Promise<void> {
  const device = fuseDevice();
  if (!(device instanceof Error)) {
    const result = device.unmount(mountpoint, lazy);
    if (result < 0) throw unmountError(mountpoint, errnoCode(-result) ?? `errno ${-result}`);
    return;
  }
  const commands: [string, string[]][] = [
    ['fusermount3', [lazy ? '-uz' : '-u', '--', mountpoint]],
    ['fusermount', [lazy ? '-uz' : '-u', '--', mountpoint]],
    ['umount', [...(lazy ? ['-l'] : []), '--', mountpoint]],
  ];
  for (const [command, args] of commands) {
    const problem = await run(command, args);
    if (problem === undefined) return;
    if (problem !== 'ENOENT') throw new Error(`cannot unmount ${mountpoint}: ${command} failed: ${problem}`);
  }
  throw new Error(`cannot unmount ${mountpoint}: the layerfs FUSE addon is not built and none of fusermount3, fusermount or umount is installed`);
}

function unmountError(mountpoint: string, code: string): Error {
  const why: Record<string, string> = {
    EBUSY: `a program still uses it (fuser -vm ${mountpoint})`,
    EINVAL: 'it is not a mount point',
    EPERM: "unmounting needs root, or fuse3's fusermount3 (setuid) for other users",
    ENOENT: 'no such directory',
  };
  return Object.assign(new Error(`cannot unmount ${mountpoint}: ${code}${why[code] ? `: ${why[code]}` : ''}`), { code });
}

/** Runs a command: undefined when it succeeded, 'ENOENT' when it is not installed, else what it said. */
function run(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile(command, args, (error, _out, stderr) => {
      if (!error) return resolve(undefined);
      resolve((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : stderr.trim() || error.message);
    }),
  );
}
