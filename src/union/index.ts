/**
 * The union rules: an Image is an ordered stack of layers seen as one read-only tree; a UnionView
 * adds a private upper layer keyed by inode number, with overlayfs's lookup, whiteout, opaque
 * directory and copy-up rules, chunk-level copy-up of file data, and renames that never copy.
 */
export { Image, ROOT_INO } from './image.js';
export { UnionView, type UnionViewOptions, type UpperState, type ViewChange } from './view.js';
export { checkNameLength, resolve, resolveParent, walk, type Place, type ResolveOptions, type Resolved } from './resolve.js';
export type { InodeStat, DirEntryInfo } from './stat.js';
export type { Space } from './space.js';
export * as access from './access.js';
export type { Caller, Owned } from './access.js';
export type { UpperInode } from './upper.js';
export { nowNs } from './clock.js';
