import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrnoError, errnoCode } from '../errno.js';

/** native/xattr: extended attributes, mknod and a directory read with lstat, which node:fs lacks. Negative numbers are errnos. */
interface XattrAddon {
  lgetxattr(path: string, name: string): Buffer | number;
  llistxattr(path: string): Buffer | number;
  lsetxattr(path: string, name: string, value: Uint8Array, flags: number): number;
  lremovexattr(path: string, name: string): number;
  mknod(path: string, mode: number, major: number, minor: number): number;
  scandir(path: string): Buffer | number;
}

let addon: XattrAddon | undefined;

function load(): XattrAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const problems: string[] = [];
  // Seen from src/overlay, dist/ or dist/cli/.
  for (const up of ['../..', '..']) {
    const file = path.resolve(here, up, 'native/xattr/build/Release/layerfs_xattr.node');
    try {
      return (addon = require(file) as XattrAddon);
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`the layerfs xattr addon is not built (run \`node native/xattr/build.mjs\`, which needs a C compiler): ${problems.join('; ')}`);
}

const ENODATA = 61;
const ENOTSUP = 95;

function fail(result: number, syscall: string, file: string): never {
  throw new ErrnoError(errnoCode(-result) ?? 'EIO', { syscall, path: file, detail: errnoCode(-result) ? undefined : `errno ${-result}` });
}

/** An attribute's value, or undefined when the file has none by that name (or no xattrs at all). */
export function getXattr(file: string, name: string): Buffer | undefined {
  const result = load().lgetxattr(file, name);
  if (typeof result !== 'number') return result;
  if (result === -ENODATA || result === -ENOTSUP) return undefined;
  fail(result, 'lgetxattr', file);
}

/** The names of a file's attributes (none where the filesystem has no xattrs). */
export function listXattrs(file: string): string[] {
  const result = load().llistxattr(file);
  if (typeof result === 'number') {
    if (result === -ENOTSUP) return [];
    fail(result, 'llistxattr', file);
  }
  return result.length === 0 ? [] : result.toString('utf8', 0, result.length - 1).split('\0');
}

export function setXattr(file: string, name: string, value: Uint8Array): void {
  const result = load().lsetxattr(file, name, value, 0);
  if (result < 0) fail(result, 'lsetxattr', file);
}

export function removeXattr(file: string, name: string): void {
  const result = load().lremovexattr(file, name);
  if (result < 0 && result !== -ENODATA) fail(result, 'lremovexattr', file);
}

/** mknod(2): `mode` carries the type bits. */
export function mknod(file: string, mode: number, major = 0, minor = 0): void {
  const result = load().mknod(file, mode, major, minor);
  if (result < 0) fail(result, 'mknod', file);
}

/** One entry of a directory as `scanDir` reads it: lstat's fields and the names of its xattrs. */
export interface ScannedEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Device and inode number, as one key (hard links share it). */
  id: string;
  rdev: number;
  size: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  xattrs: string[];
}

/** The struct record of native/xattr's scandir: its size and the offsets of its fields. */
const RECORD = 88;
const NO_NAMES: string[] = [];

/**
 * A directory's entries (. and .. left out) with their lstat and xattr names, read in one call:
 * a readdir, then an fstatat and an llistxattr per entry, without a JavaScript round trip each.
 */
export function scanDir(dir: string): ScannedEntry[] {
  const result = load().scandir(dir);
  if (typeof result === 'number') fail(result, 'scandir', dir);
  const view = new DataView(result.buffer, result.byteOffset, result.byteLength);
  const u64 = (at: number) => view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  const ns = (secondsAt: number, nanosAt: number) => view.getBigInt64(secondsAt, true) * 1_000_000_000n + BigInt(view.getUint32(nanosAt, true));
  const entries: ScannedEntry[] = [];
  for (let at = 0; at < result.length; ) {
    const nameLength = view.getUint16(at + 84, true);
    const xattrLength = view.getUint16(at + 86, true);
    const names = at + RECORD + nameLength + 1;
    entries.push({
      name: result.toString('utf8', at + RECORD, at + RECORD + nameLength),
      mode: view.getUint32(at, true),
      uid: view.getUint32(at + 4, true),
      gid: view.getUint32(at + 8, true),
      nlink: view.getUint32(at + 12, true),
      id: `${u64(at + 16)}:${u64(at + 24)}`,
      rdev: u64(at + 32),
      size: u64(at + 40),
      atime: ns(at + 48, at + 72),
      mtime: ns(at + 56, at + 76),
      ctime: ns(at + 64, at + 80),
      xattrs: xattrLength === 0 ? NO_NAMES : result.toString('utf8', names, names + xattrLength - 1).split('\0'),
    });
    at = names + xattrLength;
  }
  return entries;
}

/** Loads the addon now, so a missing build is reported before anything is mounted. */
export function checkXattrAddon(): void {
  load();
}
