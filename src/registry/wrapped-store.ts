import type { BlobStore, Digest, StoreStats } from '../store/index.js';

/** A store that passes everything to another; subclasses change how blobs are read. */
export class WrappedStore implements BlobStore {
  constructor(protected readonly inner: BlobStore) {}

  get(digest: Digest): Uint8Array {
    return this.inner.get(digest);
  }

  readInto(digest: Digest, target: Uint8Array, offset: number, room: number): number {
    return this.inner.readInto(digest, target, offset, room);
  }

  has(digest: Digest): boolean {
    return this.inner.has(digest);
  }

  put(bytes: Uint8Array): Digest {
    return this.inner.put(bytes);
  }

  delete(digest: Digest): void {
    this.inner.delete(digest);
  }

  digests(): Iterable<Digest> {
    return this.inner.digests();
  }

  size(digest: Digest): number {
    return this.inner.size(digest);
  }

  stats(): StoreStats {
    return this.inner.stats();
  }
}
