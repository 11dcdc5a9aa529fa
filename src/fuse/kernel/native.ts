import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The native part of a FUSE server (native/fuse): mounting and moving bytes, nothing more. */
export interface FuseDevice {
  /**
   * Mounts a new connection at `target`: its file descriptor, or a negative errno. `flags` are
   * mount(2)'s MS_NOSUID and MS_NODEV (MOUNT_NOSUID, MOUNT_NODEV); both when left out.
   */
  mount(target: string, fsname: string, options: string, flags?: number): number;
  unmount(target: string, lazy: boolean): number;
  /** One request into `buffer`: its length, or a negative errno (-EAGAIN: none waiting). */
  read(fd: number, buffer: Buffer): number;
  /** One reply (a header and an optional body, written together): 0 or a negative errno. */
  write(fd: number, header: Buffer, body?: Buffer): number;
  /** Calls `readable` on this thread whenever requests wait; the fd becomes non-blocking. */
  watch(fd: number, readable: () => void): unknown;
  unwatch(watch: unknown): void;
  close(fd: number): number;
  /** Writes a notification on a worker thread (the kernel may hold it until requests are answered). */
  notify(fd: number, message: Buffer): number;
  /**
   * Registers a file for FUSE passthrough, opened read-only or (`writable`) read-write: its
   * backing id, or a negative errno.
   */
  backingOpen?(fd: number, path: string, writable?: boolean): number;
  /** Forgets a backing id (files open on it keep it): 0 or a negative errno. */
  backingClose?(fd: number, id: number): number;
}

/** mount(2)'s flags the addon takes. */
export const MOUNT_NOSUID = 2;
export const MOUNT_NODEV = 4;

let device: FuseDevice | Error | undefined;

/** Where the addon is built, seen from src/fuse/kernel, dist/ or dist/cli/. */
function candidates(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return ['../../..', '..', '../..'].map((up) => path.resolve(here, up, 'native/fuse/build/Release/layerfs_fuse.node'));
}

/** The addon, or the error saying how to get it. */
export function fuseDevice(): FuseDevice | Error {
  if (device) return device;
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const file of candidates()) {
    try {
      return (device = require(file) as FuseDevice);
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return (device = new Error(`the layerfs FUSE addon is not built (run \`node native/fuse/build.mjs\`, which needs a C compiler): ${problems.join('; ')}`));
}
