import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type FuseClass from 'fuse-native';
import { type FuseMount, type MountOptions, mountSource } from '../mount.js';
import { unmountPath } from '../unmount.js';

type FuseConstructor = typeof FuseClass;

let loaded: FuseConstructor | undefined;
/** fuse-native, loaded on first use so the library works where FUSE is not installed. */
function fuseNative(): FuseConstructor {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const Fuse = require('fuse-native') as FuseConstructor;
    // fuse-native answers fgetattr through getattr(path), which fails for an open file whose last
    // name is gone; route it to our fgetattr with the file handle instead.
    class LayerFuse extends Fuse {
      _op_fgetattr(signal: unknown, path: string, fd: number): void {
        const ops = this.ops as unknown as { fgetattr: (path: string, fd: number, reply: unknown) => void };
        const getattr = (p: string, reply: unknown) => ops.fgetattr(p, fd, reply);
        (Fuse.prototype as unknown as { _op_getattr: (this: unknown, signal: unknown, path: string) => void })._op_getattr.call({ ops: { getattr } }, signal, path);
      }
    }
    // fuse-native unmounts with `fusermount -uz` (its own code calls Fuse.unmount); root needs no
    // fusermount, so it goes the way every other unmount goes.
    (Fuse as unknown as { unmount: (mountpoint: string, done: (error: Error | null) => void) => void }).unmount = (mountpoint, done) =>
      void unmountPath(mountpoint, { lazy: true }).then(() => done(null), done);
    loaded = LayerFuse;
    const root = path.dirname(require.resolve('fuse-native/package.json'));
    if (!existsSync(path.join(root, 'build', 'Release', 'fuse.node'))) {
      console.warn('layerfs: fuse-native runs its prebuilt addon, which loses mtimes set through a mount; run `node native/fuse-native/build.mjs` to rebuild it');
    }
    return LayerFuse;
  } catch (error) {
    throw new Error('FUSE mounts need the optional dependency fuse-native and libfuse2 (Debian: apt-get install libfuse2 fuse3)', { cause: error });
  }
}

/** Mounts a fuse-native op table (unionOps, routerOps): the fallback where native/fuse is not built. */
export function startFuseNative(mountpoint: string, ops: object, options: MountOptions): Promise<FuseMount> {
  const Fuse = fuseNative();
  const cache = options.cacheSeconds ?? 1;
  const fuse = new Fuse(mountpoint, ops as never, {
    // fuse-native has no options for use_ino (hard links share st_ino) and big writes (no 4 KiB
    // write size, shared/FACTS.md), and drops timeouts of 0; it passes fsname unescaped into -o.
    // suid and dev likewise travel in -o (libfuse mounts nosuid,nodev unless told).
    fsname: `${mountSource(options.source)},use_ino,big_writes,max_write=131072,attr_timeout=${cache},entry_timeout=${cache}${options.suid ? ',suid' : ''}${options.dev ? ',dev' : ''}`,
    force: true,
    timeout: false,
    defaultPermissions: true,
    allowOther: options.allowOther ?? false,
    debug: options.debug ?? false,
    maxRead: 1024 * 1024,
    autoCache: cache > 0,
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
