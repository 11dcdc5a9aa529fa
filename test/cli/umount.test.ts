import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyUnmount } from '../../src/fuse/index.js';
import { isMountPoint } from '../../src/cli/mountinfo.js';
import { Daemon } from '../fuse/daemon.js';
import { tempDir } from '../helpers/tmp.js';
import { fuseUnavailable, hostTree, layerfs, storeCli } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const unavailable = fuseUnavailable() ?? (isRoot ? undefined : 'these tests unmount without fuse3, which only root may');
if (unavailable) console.warn(`SKIPPED: layerfs umount tests: ${unavailable}`);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An environment where no fusermount, fusermount3 or umount(8) can be found, as on a machine without fuse3. */
function withoutFuse3(): NodeJS.ProcessEnv {
  return { PATH: tempDir('layerfs-empty-path-') };
}

function mountpointDir(): string {
  const mountpoint = path.join(tempDir('layerfs-mnt-'), 'mnt');
  fs.mkdirSync(mountpoint);
  cleanups.push(() => isMountPoint(mountpoint) && lazyUnmount(mountpoint));
  return mountpoint;
}

/** A container mounted by a process that holds no lock of any store (the test's own daemon). */
async function foreignMount(): Promise<Daemon> {
  const daemon = new Daemon([{ '/etc/hosts': '127.0.0.1 localhost\n' }]);
  cleanups.push(() => daemon.dispose());
  await daemon.start();
  return daemon;
}

describe.skipIf(unavailable !== undefined)('layerfs umount as root, without fuse3', () => {
  it.each(['kernel', 'fuse-native'])('mounts and unmounts a container with no fusermount on the PATH (%s)', async (backend) => {
    const { store } = storeCli();
    const run = (...args: string[]) => layerfs(['--store', store, ...args], { ...withoutFuse3(), LAYERFS_FUSE_BACKEND: backend });
    expect((await run('import', hostTree({ 'etc/hosts': 'x' }), '--tag', 'base')).status).toBe(0);
    expect((await run('create', 'base', '--name', 'web')).status).toBe(0);
    const mountpoint = mountpointDir();
    const mounted = await run('mount', 'web', mountpoint, '--daemon');
    expect(mounted).toMatchObject({ status: 0, stderr: '' });
    fs.writeFileSync(path.join(mountpoint, 'written'), 'kept');

    expect(await run('umount', mountpoint)).toMatchObject({ status: 0, stdout: `unmounted ${mountpoint}\n`, stderr: '' });
    expect(isMountPoint(mountpoint)).toBe(false);
    expect((await run('diff', 'web')).stdout).toBe('A /written\n');
  });

  it('unmounts a layerfs mount no daemon of this store holds, with umount2', async () => {
    const daemon = await foreignMount();
    const result = await layerfs(['--store', storeCli().store, 'umount', daemon.mountpoint], withoutFuse3());
    expect(result).toMatchObject({ status: 0, stdout: `unmounted ${daemon.mountpoint}\n` });
    expect(isMountPoint(daemon.mountpoint)).toBe(false);
  });

  it('fails with exit 1 and the reason when the mount stays (busy), and leaves it working', async () => {
    const daemon = await foreignMount();
    const busy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: daemon.mountpoint, stdio: 'ignore' });
    cleanups.push(() => new Promise((resolve) => (busy.once('exit', resolve), busy.kill('SIGKILL'))));
    await new Promise((resolve) => busy.once('spawn', resolve));

    const result = await layerfs(['--store', storeCli().store, 'umount', daemon.mountpoint], withoutFuse3());
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`layerfs: cannot unmount ${daemon.mountpoint}: EBUSY: a program still uses it (fuser -vm ${daemon.mountpoint})\n`);
    expect(isMountPoint(daemon.mountpoint)).toBe(true);
    expect(await fs.promises.readFile(path.join(daemon.mountpoint, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
  });

  it('refuses a mount point that is not a layerfs mount, and one that is not mounted', async () => {
    const mountpoint = mountpointDir();
    const store = storeCli().store;
    expect(await layerfs(['--store', store, 'umount', mountpoint])).toMatchObject({ status: 1, stderr: `layerfs: ${mountpoint} is not mounted\n` });
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mountpoint]);
    const result = await layerfs(['--store', store, 'umount', mountpoint]);
    expect(result).toMatchObject({ status: 1, stderr: `layerfs: ${mountpoint} is not a layerfs mount (tmpfs tmpfs); use umount(8)\n` });
    expect(isMountPoint(mountpoint)).toBe(true);
  });
});
