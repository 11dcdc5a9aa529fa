/**
 * The in-memory API: Node's fs (sync, callback and promise forms, FileHandle, streams, Dir,
 * watch) over a union view. `createFs(container)` gives an object usable wherever code expects
 * node:fs; `createFs(Container.view(image, store))` a read-only one that answers EROFS.
 *
 * One sync core (LayerFs: fs.ts by path, files.ts by fd) parses arguments like Node and stamps
 * syscall and paths on the core's errors; callbacks.ts and promises.ts wrap it generically from
 * the table in ops.ts. Union rules (copy-up, whiteouts, rename) stay in src/union.
 */
export { createFs, type LayerFsApi, type XattrSync, type XattrPromises, type XattrCallbacks } from './create.js';
export { LayerFs, type StatOptions, type XattrOptions } from './fs.js';
export { type LayerFsOptions, type ChangeEvent } from './base.js';
export { constants } from './constants.js';
export { Stats, BigIntStats, Dirent } from './stats.js';
export { Dir } from './dir.js';
export { FileHandle } from './promises.js';
export { ReadStream, WriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';
export { FSWatcher, StatWatcher, type WatchOptions } from './watch.js';
export { SystemError, ArgumentError, ArgumentRangeError } from './errors.js';
export { type RmOptions, type CpOptions } from './tree.js';
