import { readArgs } from './args.js';

/**
 * The table both async surfaces are built from: which sync calls of the core exist (each as
 * `${name}Sync`), which of them the promises API has (Node leaves the fd calls to FileHandle),
 * and, for the few calls whose async forms report more than the sync return value, how.
 * callbacks.ts and promises.ts read this table; no call is written twice.
 */
export const OPS = [
  'access',
  'appendFile',
  'chmod',
  'chown',
  'close',
  'copyFile',
  'cp',
  'fchmod',
  'fchown',
  'fdatasync',
  'fstat',
  'fsync',
  'ftruncate',
  'futimes',
  'getxattr',
  'lchmod',
  'lchown',
  'link',
  'listxattr',
  'lstat',
  'lutimes',
  'mkdir',
  'mkdtemp',
  'open',
  'opendir',
  'read',
  'readdir',
  'readFile',
  'readlink',
  'readv',
  'realpath',
  'removexattr',
  'rename',
  'rm',
  'rmdir',
  'setxattr',
  'stat',
  'statfs',
  'symlink',
  'truncate',
  'unlink',
  'utimes',
  'write',
  'writeFile',
  'writev',
] as const;

export type Op = (typeof OPS)[number];

/** Calls on a bare fd: in the promises API they are FileHandle methods instead. */
const FD_OPS = new Set<Op>(['close', 'fchmod', 'fchown', 'fdatasync', 'fstat', 'fsync', 'ftruncate', 'futimes', 'read', 'readv', 'write', 'writev']);

export const PROMISE_OPS = OPS.filter((op) => !FD_OPS.has(op));

/** The extended-attribute calls, which Node lacks: layerfs's own documented extension. */
export const XATTR_OPS = ['getxattr', 'setxattr', 'listxattr', 'removexattr'] as const;

export interface Shape {
  /** Turns the async form's arguments into the sync form's (fs.read makes a buffer when none is given). */
  prepare?(args: unknown[]): unknown[];
  /** The callback's values after the null error: `(err, bytesRead, buffer)`. */
  callback?(result: unknown, args: unknown[]): unknown[];
  /** What the promise resolves to: `{ bytesRead, buffer }`. */
  promise?(result: unknown, args: unknown[]): unknown;
  /** fs/promises also takes an iterable or a stream of chunks as the data (writeFile, appendFile). */
  streamData?: boolean;
  /** Where the options that may carry an AbortSignal are (readFile, writeFile, appendFile). */
  signalAt?: number;
}

export const SHAPES: Partial<Record<Op, Shape>> = {
  readFile: { signalAt: 1 },
  writeFile: { streamData: true, signalAt: 2 },
  appendFile: { streamData: true, signalAt: 2 },
  read: {
    prepare: ([fd, ...rest]) => [fd, ...readArgs(rest, false)],
    callback: (bytesRead, args) => [bytesRead, args[1]],
    promise: (bytesRead, args) => ({ bytesRead, buffer: args[1] }),
  },
  readv: {
    callback: (bytesRead, args) => [bytesRead, args[1]],
    promise: (bytesRead, args) => ({ bytesRead, buffers: args[1] }),
  },
  write: {
    callback: (bytesWritten, args) => [bytesWritten, args[1]],
    promise: (bytesWritten, args) => ({ bytesWritten, buffer: args[1] }),
  },
  writev: {
    callback: (bytesWritten, args) => [bytesWritten, args[1]],
    promise: (bytesWritten, args) => ({ bytesWritten, buffers: args[1] }),
  },
};
