/**
 * Containers: an image plus a private writable upper layer, with overlayfs semantics (see
 * src/union). A container can be forked in O(1), diffed against its image, and committed into a
 * new layer. The Engine keeps named images and containers in a directory store, safe against
 * crashes and shared by several processes through lock files; the `layerfs` command is built on it.
 */
export { Container } from './container.js';
export { type Change, type ChangeKind } from './walk.js';
export { Engine, type EngineOptions, type ImportOptions, type SaveOptions, type ContainerInfo, type EngineGcResult } from './engine.js';
export type { HeldLock } from './store-locks.js';
export { EngineError, type EngineErrorCode, checkName } from './engine-error.js';
export type { ImageRecord, ContainerRecord } from './engine-records.js';
export type { LockHolder } from './lock-file.js';
export type { DiskUsage, Usage } from './disk-usage.js';
export type { VerifyReport, BlobProblem } from './verify.js';
export { upperDigests } from './upper-codec.js';
