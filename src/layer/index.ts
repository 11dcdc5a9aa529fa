/**
 * Layers: immutable, content-addressed trees of inodes. A directory maps names to inode numbers
 * (WHITEOUT hides a lower name; `opaque` hides a whole lower directory); several names of one
 * inode number are hard links. The id of a layer is the digest of its canonical encoding, so the
 * same tree always has the same id. Builders make layers from paths, plain specs, a directory of
 * any node:fs-like filesystem (node:fs, memfs), or a plain tar archive.
 */
export * from './inode.js';
export { Layer, type LayerId } from './layer.js';
export { LayerBuilder, type LayerBuilderOptions, splitLayerPath } from './builder.js';
export { encodeLayer, decodeLayer } from './encode.js';
export { FormatError } from './codec.js';
export { layerFromSpec, type LayerSpec, type SpecEntry } from './from-spec.js';
export { layerFromFs, type ReadableFs, type FromFsOptions } from './from-fs.js';
export { makedev, devMajor, devMinor } from './dev.js';
