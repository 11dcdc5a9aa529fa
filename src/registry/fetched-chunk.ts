import { type BlobStore, type Digest, toDigest, xxh64 } from '../store/index.js';

/**
 * Stores bytes fetched for a chunk of a lazily pulled image if they are that chunk (their xxh64
 * is its digest, or the digest it suffixes after a collision), and answers whether they were: a
 * registry's bytes are checked before they enter the store. Into a pack where the store has them
 * (a one-chunk file writer): a file created per fetched chunk cost more than the fetch itself.
 */
export function storeFetched(store: BlobStore, chunk: Digest, bytes: Uint8Array): boolean {
  const hashed = toDigest(xxh64(bytes));
  if (chunk !== hashed && !chunk.startsWith(`${hashed}~`)) return false;
  const writer = store.fileWriter?.(bytes.length);
  if (!writer) return store.put(bytes) === chunk;
  try {
    const stored = writer.put(bytes);
    writer.finish(bytes.length);
    return stored === chunk;
  } catch (error) {
    writer.abort();
    throw error;
  }
}
