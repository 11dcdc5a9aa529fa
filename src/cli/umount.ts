import * as path from 'node:path';
import { cleanStaleMount, unmountPath } from '../fuse/index.js';
import { type Command, stringOption, UsageError } from './command.js';
import { isLayerfsMount, isMountPoint, mountAt } from './mountinfo.js';

export const umountCommand: Command = {
  name: 'umount',
  usage: 'MOUNTPOINT',
  summary: 'Unmount a container (or a --all mount): its daemon saves and exits.',
  description: [
    'A mount point left by a killed daemon is cleaned up too. As root no helper program is needed',
    "(umount2(2)); other users need fuse3's fusermount3. Exit 1, with the reason, when the mount",
    'stays.',
  ].join('\n'),
  options: { timeout: { type: 'string', arg: 'SECONDS', help: 'how long to wait for the daemon to finish (default 30)' } },
  positionals: [1, 1],
  positionalNames: ['MOUNTPOINT'],
  async run(context, values, [given]) {
    const mountpoint = path.resolve(given!);
    const timeout = Number(stringOption(values, 'timeout') ?? '30');
    if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--timeout must be a positive number of seconds');
    if (await cleanStaleMount(mountpoint)) {
      context.out(`cleaned ${mountpoint}: its daemon had been killed (changes since its last save are lost)\n`);
      return;
    }
    const engine = context.engine();
    const holder = engine.mountHolder(mountpoint);
    if (!holder) {
      const mounted = mountAt(mountpoint);
      if (!mounted) throw new Error(`${mountpoint} is not mounted`);
      if (!isLayerfsMount(mounted)) throw new Error(`${mountpoint} is not a layerfs mount (${mounted.fstype} ${mounted.source}); use umount(8)`);
      // A layerfs mount of another store, or one whose daemon left no lock: unmount it here.
      await unmountPath(mountpoint, { lazy: false });
    } else {
      process.kill(holder.pid, 'SIGTERM');
      const deadline = Date.now() + timeout * 1000;
      while (engine.mountHolder(mountpoint)) {
        if (Date.now() > deadline) {
          throw new Error(`pid ${holder.pid} did not finish unmounting ${mountpoint} within ${timeout} s; a program may still use it (fuser -vm ${mountpoint})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The daemon saved and let go, but could not unmount (it logs why): try here, and say so if that fails too.
      if (isMountPoint(mountpoint) && isLayerfsMount(mountAt(mountpoint)!)) {
        await unmountPath(mountpoint, { lazy: true }).catch((error: unknown) => {
          throw new Error(`pid ${holder.pid} saved and exited, but ${mountpoint} is still mounted: ${(error as Error).message}`);
        });
      }
    }
    if (isMountPoint(mountpoint) && isLayerfsMount(mountAt(mountpoint)!)) throw new Error(`${mountpoint} is still mounted`);
    context.out(`unmounted ${mountpoint}\n`);
  },
};
