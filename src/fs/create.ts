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
import { ReadStream, WriteStream } from './streams.js';
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
  const sync = core as unknown as Record<string, (...args: unknown[]) => unknown>;
  const fs: Record<string, unknown> = {};
  for (const op of OPS) {
    const call = sync[`${op}Sync`]!.bind(core);
    fs[`${op}Sync`] = call;
    fs[op] = callbackify(call, SHAPES[op]);
  }
  fs.existsSync = core.existsSync.bind(core);
  fs.exists = callbackifyExists(fs.existsSync as (path: unknown) => boolean);
  (fs.realpathSync as { native?: unknown }).native = fs.realpathSync;
  (fs.realpath as { native?: unknown }).native = fs.realpath;
  Object.assign(fs, {
    promises: createPromises(core),
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
    createReadStream: (path: unknown, opts?: never) => new ReadStream(core, path, opts),
    createWriteStream: (path: unknown, opts?: never) => new WriteStream(core, path, opts),
    watch: (filename: unknown, opts?: unknown, listener?: unknown) => watch(core, filename, opts, listener),
    watchFile: (filename: unknown, opts?: unknown, listener?: unknown) => watchFile(core, filename, opts, listener),
    unwatchFile: (filename: unknown, listener?: unknown) => unwatchFile(core, filename, listener),
    chdir: (path: unknown) => core.chdir(path),
    cwd: () => core.cwd(),
    umask: (mask?: number) => {
      const old = core.umask;
      if (mask !== undefined) core.umask = mask & 0o777;
      return old;
    },
    core,
  });
  return fs as unknown as LayerFsApi;
}
