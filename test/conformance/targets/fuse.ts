import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuseDevice } from '../../../src/fuse/kernel/native.js';
import { fuseUnavailable } from '../../fuse/daemon.js';
import { USER, nodeFsAsUser, userUnavailable } from './as-user.js';
import type { FsLike, Target } from './target.js';

let daemon: Promise<{ child: ChildProcess; mountpoint: string }> | undefined;
let tests = 0;

/** One daemon for the whole target (started on first use), stopped when this process exits. */
function start(): Promise<{ child: ChildProcess; mountpoint: string }> {
  daemon ??= new Promise((resolve, reject) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-conformance-fuse-'));
    // Other users reach the mount too (the permission tests act as one).
    fs.chmodSync(root, 0o755);
    const mountpoint = path.join(root, 'mnt');
    fs.mkdirSync(mountpoint);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fuse-serve.ts'), mountpoint], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve({ child, mountpoint }));
    child.on('exit', (code) => reject(new Error(`FUSE daemon exited with ${code}`)));
    // Closing its stdin stops the daemon, which unmounts: also when this worker dies abruptly.
    process.on('exit', () => child.stdin!.end());
  });
  return daemon;
}

/**
 * The FUSE mount: node:fs through the kernel on a container of the fixture image, served by a
 * child process (a process must never do synchronous I/O on a mount it serves). Each test gets a
 * fresh container at <mountpoint>/t<N>.
 */
export const fuse: Target = {
  name: 'fuse',
  // Extended attributes are tested through the mount with real programs (test/fuse); this suite
  // reaches them through the in-memory fs's extra API, which node:fs has not.
  // fuse-native, the fallback where layerfs's addon is not built, carries milliseconds.
  lacks: { lchmod: 'skip', watch: 'skip', xattr: 'skip', ...('globSync' in fs ? {} : { glob: 'skip' as const }), ...(fuseDevice() instanceof Error ? { subMillisecondTimes: 'skip' as const } : {}) },
  unavailable: fuseUnavailable,
  setup: async () => {
    const { mountpoint } = await start();
    return { fs: fs as FsLike, root: path.join(mountpoint, `t${++tests}`), cleanup: () => {} };
  },
};

/** The mount used by an ordinary user (node:fs in a child with its uid): the kernel checks permissions. */
export const fuseAsUser: Target = {
  name: `fuse as uid ${USER.uid}`,
  unavailable: () => fuseUnavailable() ?? userUnavailable(),
  setup: async () => {
    const handle = await fuse.setup();
    const user = nodeFsAsUser();
    return { ...handle, fs: user.fs, admin: fs as FsLike, cleanup: () => user.stop() };
  },
};
