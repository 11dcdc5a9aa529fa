import * as fs from 'node:fs/promises';
import type { UnionView } from '../union/index.js';
import { startFuseNative } from './fuse-native/mount.js';
import { unionOps } from './fuse-native/ops.js';
import { routerOps as pathRouterOps } from './fuse-native/router.js';
import { fuseDevice } from './kernel/native.js';
import type { NodeOps } from './kernel/node-ops.js';
import { Session } from './kernel/session.js';
import { routerOps } from './router.js';
import { type OpHooks, unionNodeOps } from './union-ops.js';
import { unmountPath } from './unmount.js';

export interface MountOptions extends OpHooks {
  /** Let users other than the mounting one in (FUSE's allow_other). */
  allowOther?: boolean;
  /** Honour setuid bits (default false: nosuid, as FUSE mounts usually are); a root filesystem for other users needs it. */
  suid?: boolean;
  /** Honour device files (default false: nodev); a chroot that opens /dev/null needs it. */
  dev?: boolean;
  /** The mount's source in `mount` and /proc/mounts (default `layerfs`); the CLI says `layerfs:NAME`. */
  source?: string;
  /**
   * Let the kernel gather writes in its page cache (default false): writes run several times
   * faster, but the kernel owns files' sizes and mtimes, so a change made through the in-memory
   * API while mounted may show with the old size. `layerfs mount` turns it on: nothing changes a
   * container it serves behind the kernel's back. Only where passthrough is off: the two
   * exclude each other.
   */
  writebackCache?: boolean;
  /** Log every FUSE request. */
  debug?: boolean;
  /**
   * How long the kernel may trust a name or attributes it looked up, in seconds (default 1). The
   * page cache is kept across opens and dropped when a file's size or mtime is seen to change.
   * 0 turns caching off, for tests and for changes made through the in-memory API while mounted.
   */
  cacheSeconds?: number;
  /** Something that is not an ErrnoError went wrong: a bug, answered as EIO. */
  onError?: (error: unknown, op: string, where: string) => void;
  /**
   * 'kernel' (default where the addon is built) speaks the FUSE protocol on the JavaScript
   * thread through native/fuse; 'fuse-native' runs on fuse-native's prebuilt libfuse 2 binding,
   * which needs no compiler but is slower and carries times in milliseconds.
   */
  backend?: 'kernel' | 'fuse-native';
  /**
   * FUSE passthrough (default on; LAYERFS_PASSTHROUGH=0 turns it off): the kernel reads unchanged
   * lower files from the store's files directly (Linux 6.9+, as root). `verifyReads` turns it off.
   */
  passthrough?: boolean;
  /** Lines worth a log: whether passthrough is on, once. */
  log?: (line: string) => void;
}

export interface FuseMount {
  readonly mountpoint: string;
  /** Unmounts; rejects (EBUSY) while a program still uses the mount. */
  unmount(): Promise<void>;
  /** Resolves when the mount is gone, whoever unmounted it. */
  readonly closed?: Promise<void>;
  /** FUSE requests answered so far, by op (the kernel backend only). */
  requests?(): Record<string, number>;
}

function backendOf(options: MountOptions): 'kernel' | 'fuse-native' {
  if (options.backend) return options.backend;
  const env = process.env.LAYERFS_FUSE_BACKEND;
  if (env === 'kernel' || env === 'fuse-native') return env;
  const device = fuseDevice();
  if (!(device instanceof Error)) return 'kernel';
  if (!warned) console.warn(`layerfs: mounting through fuse-native, slower and with times in milliseconds: ${device.message}`);
  warned = true;
  return 'fuse-native';
}
let warned = false;

async function start(mountpoint: string, ops: NodeOps, options: MountOptions): Promise<FuseMount> {
  const session = await Session.mount(mountpoint, ops, {
    cacheSeconds: options.cacheSeconds ?? 1,
    allowOther: options.allowOther ?? false,
    suid: options.suid ?? false,
    writebackCache: options.writebackCache ?? false,
    dev: options.dev ?? false,
    source: mountSource(options.source),
    debug: options.debug ?? false,
    onError: (error, op, node) => options.onError?.(error, op, `inode ${node}`),
    passthrough: (options.passthrough ?? process.env.LAYERFS_PASSTHROUGH !== '0') && !options.verifyReads,
    log: options.log,
  });
  return {
    mountpoint,
    unmount: () => session.unmount(),
    closed: session.closed,
    requests: () => session.requests(),
  };
}

/** The source as mount(8) options can carry it: no comma, space or backslash. */
export function mountSource(source = 'layerfs'): string {
  return source.replace(/[,\s\\]/g, '_');
}

/** Serves a container (or a read-only view of an image) as a directory. */
export function mountContainer(view: UnionView, mountpoint: string, options: MountOptions = {}): Promise<FuseMount> {
  if (backendOf(options) === 'fuse-native') return startFuseNative(mountpoint, unionOps(view, options), options);
  return start(mountpoint, unionNodeOps(view, options), options);
}

/**
 * Serves many containers from one daemon, each as `mountpoint/<name>/`; `resolve` may create a
 * container the first time a name is asked for.
 */
export function mountMany(
  resolve: (name: string) => UnionView | undefined,
  names: () => string[],
  mountpoint: string,
  options: MountOptions = {},
): Promise<FuseMount> {
  if (backendOf(options) === 'fuse-native') return startFuseNative(mountpoint, pathRouterOps(resolve, names, (view) => unionOps(view, options)), options);
  return start(mountpoint, routerOps(resolve, names, (view) => unionNodeOps(view, options)), options);
}

/** Detaches a mount point at once, even while it is busy (umount -l). */
export function lazyUnmount(mountpoint: string): Promise<void> {
  return unmountPath(mountpoint, { lazy: true });
}

/**
 * Unmounts a mount point whose daemon died: it answers ENOTCONN, or ECONNABORTED when a request
 * was in flight as the connection went down. Returns true when it cleaned one. Asynchronous on
 * purpose: a synchronous stat of a live mount served by this very process would deadlock.
 */
export async function cleanStaleMount(mountpoint: string): Promise<boolean> {
  try {
    await fs.stat(mountpoint);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTCONN' && code !== 'ECONNABORTED') return false;
  }
  await lazyUnmount(mountpoint);
  return true;
}
