import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrnoError, errnoCode } from '../errno.js';

/** native/xattr: extended attributes and mknod, which node:fs lacks. Negative numbers are errnos. */
interface XattrAddon {
  lgetxattr(path: string, name: string): Buffer | number;
  llistxattr(path: string): Buffer | number;
  lsetxattr(path: string, name: string, value: Uint8Array, flags: number): number;
  lremovexattr(path: string, name: string): number;
  mknod(path: string, mode: number, major: number, minor: number): number;
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

/** Loads the addon now, so a missing build is reported before anything is mounted. */
export function checkXattrAddon(): void {
  load();
}
