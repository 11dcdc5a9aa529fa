import type { BlobStore } from './blob-store.js';
import type { Digest } from './digest.js';

export interface GcResult {
  deleted: number;
  freedBytes: number;
}

/** Deletes every blob not in `live` (the digests reachable from the roots the caller keeps). */
export function collectGarbage(store: BlobStore, live: ReadonlySet<Digest>): GcResult {
  let deleted = 0;
  let freedBytes = 0;
  // Collect first: deleting while a back end iterates its own listing is not safe for all of them.
  const dead = [...store.digests()].filter((digest) => !live.has(digest));
  for (const digest of dead) {
    freedBytes += store.size(digest);
    store.delete(digest);
    deleted++;
  }
  store.compact?.();
  return { deleted, freedBytes };
}
