/**
 * The content-addressed store. Bytes go in, a digest (`xxh64:` + 16 hex) comes out; the same bytes
 * are stored once however often they are put. Files are cut into fixed-size chunks (`Content`) so
 * that identical chunks are shared and a write replaces single chunks; chunks of zeros are holes
 * and cost nothing. Every read rehashes its blob: a corrupt or missing blob is a BlobError, never
 * wrong bytes.
 */
export { type BlobStore, type BlobStoreOptions, BaseBlobStore, type FileWriter, type StoreStats } from './blob-store.js';
export { MemoryBlobStore } from './memory.js';
export { DirBlobStore, type DirBlobStoreOptions } from './dir.js';
export { type Digest, type HashFn, xxh64, toDigest, parseDigest, isDigest } from './digest.js';
export { BlobError, type BlobFault } from './errors.js';
export * from './chunk.js';
export { ContentWriter } from './content-writer.js';
export { collectGarbage, type GcResult } from './gc.js';
