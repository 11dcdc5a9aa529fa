import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fuseDevice } from '../../src/fuse/kernel/native.js';

/** One live mount of a system under test. */
export interface Mounted {
  /** Where the tree appears: `big.bin` and `tree/`. */
  root: string;
  /** The serving process, for RSS (FUSE systems only). */
  pid?: number;
  /** What the daemon said when it was ready (layerfs). */
  info?: Record<string, unknown>;
  /** A CPU profile of the daemon over a window (layerfs). */
  profile?: { start(): Promise<void>; stop(file: string): Promise<void> };
  /** FUSE requests the daemon answered since the last call, by op (layerfs). */
  requests?: () => Promise<Record<string, number>>;
  /** Unmounts (or, for tmpfs, removes what a workload added). Safe to call twice. */
  stop(): Promise<void>;
}

export interface System {
  key: string;
  label: string;
  /** Why it cannot run here, or undefined. */
  unavailable(): string | undefined;
  /** A fresh mount over the tree: an empty upper layer, cold daemon. */
  mount(): Promise<Mounted>;
}

/** Runs a program; resolves with stdout, rejects with stderr in the message. */
export function run(file: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

function which(program: string): string | undefined {
  try {
    return execFileSync('which', [program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether something is mounted at `dir` (its exact path in /proc/self/mountinfo). */
export function isMounted(dir: string): boolean {
  const target = path.resolve(dir);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4]?.replace(/\\040/g, ' ') === target);
}

async function waitFor(what: string, ready: () => boolean, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits for a child to exit; after `graceMs`, kills it. */
function exited(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Last resort for a FUSE mount whose daemon did not unmount: a lazy unmount. */
async function forceUnmount(dir: string, fusermount: string): Promise<void> {
  if (!isMounted(dir)) return;
  await run(fusermount, ['-uz', dir]).catch(() => run('umount', ['-l', dir]));
}

/**
 * A FUSE server run in the foreground by this process, live once `merged` is mounted; stopping
 * unmounts it (then SIGTERM where `kill`), waits for it to exit and removes `base`.
 */
async function foreground(
  what: string,
  child: ChildProcess,
  merged: string,
  base: string,
  unmount: () => Promise<unknown>,
  fusermount: string,
  kill: boolean,
): Promise<Mounted> {
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (isMounted(merged)) await unmount().catch(() => forceUnmount(merged, fusermount));
    if (kill) child.kill('SIGTERM');
    await exited(child);
    fs.rmSync(base, { recursive: true, force: true });
  };
  try {
    await waitFor(what, () => isMounted(merged), child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { root: merged, pid: child.pid!, stop };
}

/** tmpfs direct: the generated tree itself (`scratch/lower` is on the benchmark's tmpfs). */
export function tmpfsDirect(lower: string): System {
  return {
    key: 'tmpfs',
    label: 'tmpfs direct',
    unavailable: () => undefined,
    mount: async () => ({
      root: lower,
      // Workloads only add `created/`; take it away so the next one sees the same tree.
      stop: async () => fs.rmSync(path.join(lower, 'created'), { recursive: true, force: true }),
    }),
  };
}

/** Fresh upper, work and merged directories for one overlay mount. */
function overlayDirs(base: string): { upper: string; work: string; merged: string } {
  fs.rmSync(base, { recursive: true, force: true });
  const dirs = { upper: path.join(base, 'upper'), work: path.join(base, 'work'), merged: path.join(base, 'merged') };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  return dirs;
}

/** Kernel overlayfs: lower is the tree, upper and work on the same tmpfs. */
export function kernelOverlay(lower: string, base: string): System {
  return {
    key: 'overlayfs',
    label: 'kernel overlayfs',
    unavailable: () => {
      if (process.getuid?.() !== 0) return 'mounting kernel overlayfs needs root';
      if (!/\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) {
        try {
          execFileSync('modprobe', ['overlay'], { stdio: 'ignore' });
        } catch {
          return 'this kernel has no overlayfs';
        }
      }
      return undefined;
    },
    mount: async () => {
      const { upper, work, merged } = overlayDirs(base);
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
      let stopped = false;
      return {
        root: merged,
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await run('umount', [merged]).catch(() => run('umount', ['-l', merged]));
          fs.rmSync(base, { recursive: true, force: true });
        },
      };
    },
  };
}

function fuseUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'FUSE needs Linux';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing';
  return undefined;
}

/** fuse-overlayfs in the foreground (so its pid is ours to measure), same lower, upper on tmpfs. */
export function fuseOverlayfs(lower: string, base: string): System {
  const binary = which('fuse-overlayfs');
  const fusermount = which('fusermount3') ?? which('fusermount') ?? 'fusermount';
  return {
    key: 'fuse-overlayfs',
    label: 'fuse-overlayfs',
    unavailable: () => fuseUnavailable() ?? (binary ? undefined : 'fuse-overlayfs is not installed (Debian: apt-get install fuse-overlayfs)'),
    mount: async () => {
      const { upper, work, merged } = overlayDirs(base);
      const child = spawn(binary!, ['-f', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged], { stdio: ['ignore', 'ignore', 'pipe'] });
      // fuse-overlayfs stays after fusermount -u until told to go.
      return foreground('fuse-overlayfs', child, merged, base, () => run(fusermount, ['-u', merged]), fusermount, true);
    },
  };
}

function fuseNativeUnavailable(): string | undefined {
  const problem = fuseUnavailable();
  if (problem) return problem;
  try {
    execFileSync(process.execPath, ['-e', "require('fuse-native')"], { stdio: 'ignore' });
  } catch {
    return 'the optional dependency fuse-native does not load (npm install; Debian: apt-get install libfuse2)';
  }
  return undefined;
}

/**
 * The layerfs daemon (serve.ts) in a child process: started per mount, ready when it prints
 * `ready {json}`, stopped by SIGTERM; it answers `counts`, `profile-start` and `profile-stop FILE`
 * on stdin, one answer line each.
 */
async function startDaemon(script: string, args: string[], mountpoint: string, env: Record<string, string>): Promise<Mounted> {
  const fusermount = which('fusermount') ?? which('fusermount3') ?? 'fusermount';
  fs.mkdirSync(mountpoint, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, script), '--mount', mountpoint, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  let info: Record<string, unknown> | undefined;
  const acknowledged: ((answer: string) => void)[] = [];
  child.stderr!.on('data', (chunk) => (log += chunk));
  child.stdout!.on('data', (chunk) => {
    for (const line of String(chunk).split('\n')) {
      const match = /^ready (.*)$/.exec(line);
      if (match) info = JSON.parse(match[1]!) as Record<string, unknown>;
      else if (line === 'ok' || line.startsWith('counts ')) acknowledged.shift()?.(line);
      else if (line) log += `${line}\n`;
    }
  });
  const command = (text: string) =>
    new Promise<string>((resolve) => {
      acknowledged.push(resolve);
      child.stdin!.write(`${text}\n`);
    });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    await exited(child);
    await forceUnmount(mountpoint, fusermount);
    if (log.trim()) process.stderr.write(`${script} said: ${log.trim()}\n`);
  };
  try {
    // Importing a large tree into a memory store takes a while on every start.
    await waitFor(script, () => info !== undefined, child, () => log, 600_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const profile = {
    start: async () => void (await command('profile-start')),
    stop: async (file: string) => void (await command(`profile-stop ${file}`)),
  };
  const requests = async () => JSON.parse((await command('counts')).slice('counts '.length)) as Record<string, number>;
  return { root: mountpoint, pid: child.pid!, info: info!, profile, requests, stop };
}

/**
 * layerfs: a child daemon (bench/fuse/serve.ts) serving a fresh container of the tree's image.
 * `store` is `memory` (the tree is imported on every start) or a directory on the tmpfs (imported
 * on the first start, loaded from the store afterwards); `fallback` mounts through fuse-native,
 * the binding layerfs falls back to where its own addon is not built.
 */
export function layerfs(lower: string, base: string, store: 'memory' | 'dir', fallback = false, verifyReads = false): System {
  const storeArg = store === 'memory' ? 'memory' : path.join(base, 'store');
  const key = store === 'memory' ? 'layerfs-memory' : verifyReads ? 'layerfs-verify-reads' : 'layerfs';
  const label = store === 'memory' ? 'layerfs (MemoryBlobStore)' : verifyReads ? 'layerfs mount (DirBlobStore, --verify-reads)' : 'layerfs mount (DirBlobStore)';
  return {
    key: fallback ? `${key}-fuse-native` : key,
    label: fallback ? `${label} on fuse-native` : label,
    unavailable: fallback ? fuseNativeUnavailable : () => fuseUnavailable() ?? (fuseDevice() instanceof Error ? 'the layerfs FUSE addon is not built (npm install builds it)' : undefined),
    // --verify-reads: no passthrough, every chunk read and hashed by the daemon.
    mount: () =>
      startDaemon('serve.ts', ['--source', lower, '--store', storeArg], path.join(base, 'mnt'), {
        LAYERFS_FUSE_BACKEND: fallback ? 'fuse-native' : 'kernel',
        LAYERFS_PASSTHROUGH: verifyReads ? '0' : '1',
      }),
  };
}

/**
 * `layerfs overlay` in the foreground over the same lower directory as fuse-overlayfs, upper and
 * work on the tmpfs: layerfs's union core over directory layers, kept in overlay format.
 */
export function layerfsOverlay(lower: string, base: string): System {
  const fusermount = which('fusermount3') ?? which('fusermount') ?? 'fusermount';
  return {
    key: 'layerfs-overlay',
    label: 'layerfs overlay (directories)',
    unavailable: () => fuseUnavailable() ?? (fuseDevice() instanceof Error ? 'the layerfs FUSE addon is not built (npm install builds it)' : undefined),
    mount: async () => {
      const { upper, work, merged } = overlayDirs(base);
      const main = path.join(import.meta.dirname, '../../src/cli/main.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', main, 'overlay', '-f', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      // Unmounted, it exits by itself (as under podman).
      return foreground('layerfs overlay', child, merged, base, () => run('umount', [merged]), fusermount, false);
    },
  };
}
