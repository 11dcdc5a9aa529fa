import { BaseBlobStore, type BlobStoreOptions } from './blob-store.js';
import type { Digest } from './digest.js';

/** Blobs in a Map: the default for tests, fixtures and benchmarks. */
export class MemoryBlobStore extends BaseBlobStore {
  private readonly blobs = new Map<Digest, Uint8Array>();

  constructor(options?: BlobStoreOptions) {
    super(options);
  }

  has(digest: Digest): boolean {
    return this.blobs.has(digest);
  }

  size(digest: Digest): number {
    return this.blobs.get(digest)?.length ?? 0;
  }

  delete(digest: Digest): void {
    this.blobs.delete(digest);
  }

  digests(): Iterable<Digest> {
    return this.blobs.keys();
  }

  protected readRaw(digest: Digest): Uint8Array | undefined {
    return this.blobs.get(digest);
  }

  protected writeRaw(digest: Digest, bytes: Uint8Array): void {
    // Copy: the caller may reuse its buffer, and stored blobs must never change.
    this.blobs.set(digest, Uint8Array.prototype.slice.call(bytes));
  }
}
