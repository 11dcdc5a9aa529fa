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
import { type GlobOptions, globSync } from './glob.js';
import { openAsBlob } from './open-as-blob.js';

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
  | 'openAsBlob'
> &
  XattrSync &
  XattrCallbacks & {
    promises: Pick<NodePromises, PromiseImplemented> &
      XattrPromises & { glob(pattern: string | string[], options?: GlobOptions): AsyncIterableIterator<string | Dirent> };
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
    /** Node 22's glob (minimatch syntax), on any Node version. */
    globSync(pattern: string | string[], options?: GlobOptions): (string | Dirent)[];
    glob(pattern: string | string[], options: GlobOptions | GlobCallback, callback?: GlobCallback): void;
  };

type GlobCallback = (error: NodeJS.ErrnoException | null, matches?: (string | Dirent)[]) => void;

/**
 * A Node fs-compatible filesystem over a union view: a Container (read-write) or an image's
 * read-only view (writes answer EROFS). Each call gives a new fs object with its own file
 * descriptors and watchers over the same view.
 *
 * A test suite makes one per test, so making one must cost next to nothing: the object holds only
 * its core, and every function is a getter of one shared prototype that binds the function to the
 * core on first use and keeps it on the object (so `const { readFileSync } = fs` works, and
 * `fs.readFileSync = spy` replaces it). Spreading the object (`{ ...fs }`) copies no function.
 */
export function createFs(view: UnionView, options?: LayerFsOptions): LayerFsApi {
  const fs = Object.create(API) as { core: LayerFs };
  fs.core = new LayerFs(view, options);
  return fs as unknown as LayerFsApi;
}

/** The prototype of every fs object: constants and classes as they are, functions bound lazily. */
const API: object = (() => {
  const api: Record<string, unknown> = {
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
  };
  const lazy = (name: string, make: (core: LayerFs) => unknown) => {
    const own = (self: object, value: unknown) => Object.defineProperty(self, name, { value, writable: true, enumerable: true, configurable: true });
    Object.defineProperty(api, name, {
      enumerable: true,
      configurable: true,
      get(this: { core: LayerFs }) {
        const value = make(this.core);
        own(this, value);
        return value;
      },
      set(this: object, value: unknown) {
        own(this, value);
      },
    });
  };
  lazy('existsSync', (core) => core.existsSync.bind(core));
  lazy('exists', (core) => callbackifyExists(core.existsSync.bind(core)));
  lazy('createReadStream', (core) => newReadStream.bind(null, core));
  lazy('createWriteStream', (core) => newWriteStream.bind(null, core));
  lazy('watch', (core) => watch.bind(null, core));
  lazy('watchFile', (core) => watchFile.bind(null, core));
  lazy('unwatchFile', (core) => unwatchFile.bind(null, core));
  lazy('chdir', (core) => core.chdir.bind(core));
  lazy('cwd', (core) => core.cwd.bind(core));
  lazy('umask', (core) => umask.bind(null, core));
  lazy('openAsBlob', (core) => openAsBlob.bind(null, core));
  lazy('globSync', (core) => globSync.bind(null, core));
  lazy('glob', (core) => callbackify(globSync.bind(null, core) as (...args: unknown[]) => unknown));
  for (const op of OPS) {
    const sync = (core: LayerFs) => (core as unknown as Record<string, (...args: unknown[]) => unknown>)[`${op}Sync`]!.bind(core);
    lazy(`${op}Sync`, (core) => withNative(op, sync(core)));
    lazy(op, (core) => withNative(op, callbackify(sync(core), SHAPES[op])));
  }
  // fs.promises is made on first use, as Node's own is a getter: most fs objects never need it.
  lazy('promises', (core) => createPromises(core));
  return api;
})();

/** realpath and realpathSync carry their `.native` form (the same call here). */
function withNative<T extends object>(op: string, call: T): T {
  if (op === 'realpath') (call as { native?: unknown }).native = call;
  return call;
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
