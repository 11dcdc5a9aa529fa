import type * as NodeFs from 'node:fs';
import type { UnionView } from '../union/index.js';
import type { LayerFsOptions } from './base.js';
import { callbackify, callbackifyExists } from './callbacks.js';
import { constants } from './constants.js';
import { Dir } from './dir.js';
import { LayerFs, type XattrOptions } from './fs.js';
import { OPS, SHAPES } from './ops.js';
import { FileHandle, createPromises } from './promises.js';
import { BigIntStats, Dirent, Stats } from './stats.js';
import { ReadStream, type ReadStreamOptions, WriteStream, type WriteStreamOptions } from './streams.js';
import { FSWatcher, StatWatcher, unwatchFile, watch, watchFile } from './watch.js';

type Node = typeof NodeFs;
type NodePromises = typeof NodeFs.promises;
type Implemented = Exclude<(typeof OPS)[number], 'getxattr' | 'setxattr' | 'listxattr' | 'removexattr'>;
type PromiseImplemented = Extract<Implemented, keyof NodePromises> | 'watch' | 'constants';

/** Extended attributes, which Node's fs lacks (see README: getxattr(2) and friends). */
export interface XattrSync {
  getxattrSync(path: NodeFs.PathLike, name: string, options?: XattrOptions): Buffer;
  getxattrSync(path: NodeFs.PathLike, name: string, options: XattrOptions & { encoding: BufferEncoding }): string;
  setxattrSync(path: NodeFs.PathLike, name: string, value: string | NodeJS.ArrayBufferView, options?: XattrOptions): void;
  listxattrSync(path: NodeFs.PathLike, options?: XattrOptions): string[];
  removexattrSync(path: NodeFs.PathLike, name: string, options?: XattrOptions): void;
}

export interface XattrPromises {
  getxattr(path: NodeFs.PathLike, name: string, options?: XattrOptions): Promise<Buffer>;
  getxattr(path: NodeFs.PathLike, name: string, options: XattrOptions & { encoding: BufferEncoding }): Promise<string>;
  setxattr(path: NodeFs.PathLike, name: string, value: string | NodeJS.ArrayBufferView, options?: XattrOptions): Promise<void>;
  listxattr(path: NodeFs.PathLike, options?: XattrOptions): Promise<string[]>;
  removexattr(path: NodeFs.PathLike, name: string, options?: XattrOptions): Promise<void>;
}

type Callback<T> = (error: NodeJS.ErrnoException | null, value?: T) => void;

export interface XattrCallbacks {
  getxattr(path: NodeFs.PathLike, name: string, options: XattrOptions | Callback<Buffer | string>, callback?: Callback<Buffer | string>): void;
  setxattr(path: NodeFs.PathLike, name: string, value: string | NodeJS.ArrayBufferView, options: XattrOptions | Callback<void>, callback?: Callback<void>): void;
  listxattr(path: NodeFs.PathLike, options: XattrOptions | Callback<string[]>, callback?: Callback<string[]>): void;
  removexattr(path: NodeFs.PathLike, name: string, options: XattrOptions | Callback<void>, callback?: Callback<void>): void;
}

/**
 * What createFs returns: Node's fs surface (typed as node:fs's own functions, so it drops in where
 * code expects `typeof import('node:fs')`), plus extended attributes, a working directory, and
 * the sync core behind it all (`core`, with the view it translates to).
 */
export type LayerFsApi = Pick<
  Node,
  | Implemented
  | `${Implemented}Sync`
  | 'exists'
  | 'existsSync'
  | 'createReadStream'
  | 'createWriteStream'
  | 'watch'
  | 'watchFile'
  | 'unwatchFile'
  | 'constants'
> &
  XattrSync &
  XattrCallbacks & {
    promises: Pick<NodePromises, PromiseImplemented> & XattrPromises;
    F_OK: number;
    R_OK: number;
    W_OK: number;
    X_OK: number;
    Stats: typeof Stats;
    BigIntStats: typeof BigIntStats;
    Dirent: typeof Dirent;
    Dir: typeof Dir;
    ReadStream: typeof ReadStream;
    WriteStream: typeof WriteStream;
    FileHandle: typeof FileHandle;
    FSWatcher: typeof FSWatcher;
    StatWatcher: typeof StatWatcher;
    /** Changes the directory relative paths start from (the fs's own, not the process's). */
    chdir(path: NodeFs.PathLike): void;
    cwd(): string;
    /** The umask applied to created files and directories. */
    umask(mask?: number): number;
    /** The sync core: its `view` is the container or image view behind this fs. */
    core: LayerFs;
  };

/**
 * A Node fs-compatible filesystem over a union view: a Container (read-write) or an image's
 * read-only view (writes answer EROFS). Each call gives a new fs object with its own file
 * descriptors and watchers over the same view.
 */
export function createFs(view: UnionView, options?: LayerFsOptions): LayerFsApi {
  const core = new LayerFs(view, options);
  // Bound functions rather than closures: a test makes an fs object per container, so making one
  // should cost microseconds (and destructuring `const { readFileSync } = fs` must keep working).
  const fs: Record<string, unknown> = {
    core,
    constants,
    F_OK: constants.F_OK,
    R_OK: constants.R_OK,
    W_OK: constants.W_OK,
    X_OK: constants.X_OK,
    Stats,
    BigIntStats,
    Dirent,
    Dir,
    ReadStream,
    WriteStream,
    FileHandle,
    FSWatcher,
    StatWatcher,
    existsSync: core.existsSync.bind(core),
    createReadStream: newReadStream.bind(null, core),
    createWriteStream: newWriteStream.bind(null, core),
    watch: watch.bind(null, core),
    watchFile: watchFile.bind(null, core),
    unwatchFile: unwatchFile.bind(null, core),
    chdir: core.chdir.bind(core),
    cwd: core.cwd.bind(core),
    umask: umask.bind(null, core),
  };
  fs.exists = callbackifyExists(fs.existsSync as (path: unknown) => boolean);
  const sync = core as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const op of OPS) {
    const call = sync[`${op}Sync`]!.bind(core);
    fs[`${op}Sync`] = call;
    fs[op] = callbackify(call, SHAPES[op]);
  }
  (fs.realpathSync as { native?: unknown }).native = fs.realpathSync;
  (fs.realpath as { native?: unknown }).native = fs.realpath;
  // fs.promises is made on first use, as Node's own is a getter: most fs objects never need it.
  Object.defineProperty(fs, 'promises', { enumerable: true, get: promisesOf });
  return fs as unknown as LayerFsApi;
}

const PROMISES = Symbol('promises');

function promisesOf(this: { core: LayerFs; [PROMISES]?: Record<string, unknown> }): Record<string, unknown> {
  return (this[PROMISES] ??= createPromises(this.core));
}

function newReadStream(core: LayerFs, path: unknown, options?: ReadStreamOptions | BufferEncoding): ReadStream {
  return new ReadStream(core, path, options);
}

function newWriteStream(core: LayerFs, path: unknown, options?: WriteStreamOptions | BufferEncoding): WriteStream {
  return new WriteStream(core, path, options);
}

function umask(core: LayerFs, mask?: number): number {
  const old = core.umask;
  if (mask !== undefined) core.umask = mask & 0o777;
  return old;
}
