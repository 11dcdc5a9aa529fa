import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import type FuseClass from 'fuse-native';
import type { UnionView } from '../union/index.js';
import { type OpHooks, unionOps } from './ops.js';
import { routerOps } from './router.js';

export interface MountOptions extends OpHooks {
  /** Let users other than the mounting one in (FUSE's allow_other). */
  allowOther?: boolean;
  /** Log every FUSE request (libfuse's debug). */
  debug?: boolean;
  /**
   * How long the kernel may trust what it saw, in seconds (default 60). Only the mount changes a
   * mounted container (the store lock sees to that), so caching is safe; use 0 if the same
   * process also changes the container through the in-memory API while mounted.
   */
  cacheSeconds?: number;
}

export interface FuseMount {
  readonly mountpoint: string;
  unmount(): Promise<void>;
}

type FuseConstructor = typeof FuseClass;

let loaded: FuseConstructor | undefined;
/** fuse-native, loaded on first use so the library works where FUSE is not installed. */
function fuseNative(): FuseConstructor {
  if (loaded) return loaded;
  try {
    const Fuse = createRequire(import.meta.url)('fuse-native') as FuseConstructor;
    // fuse-native answers fgetattr through getattr(path), which fails for an open file whose last
    // name is gone; route it to our fgetattr with the file handle instead.
    class LayerFuse extends Fuse {
      _op_fgetattr(signal: unknown, path: string, fd: number): void {
        const ops = this.ops as unknown as { fgetattr: (path: string, fd: number, reply: unknown) => void };
        const getattr = (p: string, reply: unknown) => ops.fgetattr(p, fd, reply);
        (Fuse.prototype as unknown as { _op_getattr: (this: unknown, signal: unknown, path: string) => void })._op_getattr.call({ ops: { getattr } }, signal, path);
      }
    }
    loaded = LayerFuse;
    return LayerFuse;
  } catch (error) {
    throw new Error('FUSE mounts need the optional dependency fuse-native and libfuse2 (Debian: apt-get install libfuse2 fuse3)', { cause: error });
  }
}

function start(mountpoint: string, ops: object, options: MountOptions, useIno: boolean): Promise<FuseMount> {
  const Fuse = fuseNative();
  const cache = options.cacheSeconds ?? 60;
  // fuse-native has no options for these and passes fsname unescaped into -o: use_ino makes
  // hard links share st_ino; big writes lift the 4 KiB write size (shared/FACTS.md).
  const extra = [...(useIno ? ['use_ino'] : []), 'big_writes', 'max_write=131072'];
  const fuse = new Fuse(mountpoint, ops as never, {
    fsname: ['layerfs', ...extra].join(','),
    force: true,
    timeout: false,
    defaultPermissions: true,
    allowOther: options.allowOther ?? false,
    debug: options.debug ?? false,
    maxRead: 1024 * 1024,
    ...(cache > 0 ? { kernelCache: true, attrTimeout: cache, entryTimeout: cache } : {}),
  });
  return new Promise((resolve, reject) => {
    fuse.mount((error) => {
      if (error) return reject(error);
      resolve({
        mountpoint: fuse.mnt,
        unmount: () => new Promise<void>((done, fail) => fuse.unmount((problem) => (problem ? fail(problem) : done()))),
      });
    });
  });
}

/** Serves a container (or a read-only view of an image) as a directory. */
export function mountContainer(view: UnionView, mountpoint: string, options: MountOptions = {}): Promise<FuseMount> {
  return start(mountpoint, unionOps(view, options), options, true);
}

/**
 * Serves many containers from one daemon, each as `mountpoint/<name>/`. Inode numbers of
 * different containers overlap, so libfuse numbers inodes itself here (hard links then show
 * different st_ino; a single-container mount keeps them shared).
 */
export function mountMany(
  resolve: (name: string) => UnionView | undefined,
  names: () => string[],
  mountpoint: string,
  options: MountOptions = {},
): Promise<FuseMount> {
  return start(mountpoint, routerOps(resolve, names, (view) => unionOps(view, options)), options, false);
}

/**
 * Unmounts a mount point whose daemon died (it answers ENOTCONN). Returns true when it cleaned
 * one. Asynchronous on purpose: a synchronous stat of a live mount served by this very process
 * would deadlock.
 */
export async function cleanStaleMount(mountpoint: string): Promise<boolean> {
  try {
    await fs.stat(mountpoint);
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTCONN') return false;
  }
  await new Promise<void>((resolve, reject) => execFile('fusermount', ['-uz', mountpoint], (error) => (error ? reject(error) : resolve())));
  return true;
}
