import { BlobError, type BlobStore, type Digest, toDigest, xxh64 } from '../store/index.js';
import type { ChunkSpan } from './lazy-index.js';
import { type ChunkPlace, LazyRecords } from './lazy-records.js';
import { SyncFetcher } from './sync-fetcher.js';
import { WrappedStore } from './wrapped-store.js';

/** Bytes of a file fetched with the chunk a read asks for (the rest of a shared library, say). */
const READ_AHEAD = 1024 * 1024;

/** How long a read waits for a lazy chunk before it fails with EIO ($LAYERFS_LAZY_TIMEOUT seconds, default 30). */
export function lazyTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.LAYERFS_LAZY_TIMEOUT);
  return seconds > 0 ? seconds * 1000 : 30_000;
}

/**
 * The store as readers of a lazily pulled image see it: a chunk that is not here yet, but that
 * a lazy record places in a registry blob, is fetched (one Range request), checked against its
 * digest by the inner store's own put (the digest of the bytes must be the one asked for), kept,
 * and returned: never fetched twice, never wrong bytes. Everything else is the inner store's;
 * `has` answers for what is here, so gc, verify and df see the truth.
 */
export class LazyBlobStore extends WrappedStore {
  /** Chunks fetched, and their bytes (for df and benchmarks). */
  fetched = { chunks: 0, bytes: 0 };

  constructor(
    inner: BlobStore,
    private readonly places: Map<Digest, ChunkPlace>,
    private readonly fetcher: SyncFetcher,
  ) {
    super(inner);
  }

  override get(digest: Digest): Uint8Array {
    try {
      return this.inner.get(digest);
    } catch (error) {
      if (!(error instanceof BlobError && error.fault === 'missing')) throw error;
      return this.fetch(digest, error);
    }
  }

  override readInto(digest: Digest, target: Uint8Array, offset: number, room: number): number {
    try {
      return this.inner.readInto(digest, target, offset, room);
    } catch (error) {
      if (!(error instanceof BlobError && error.fault === 'missing')) throw error;
      const bytes = this.fetch(digest, error);
      if (bytes.length > room) return -1;
      target.set(bytes, offset);
      return bytes.length;
    }
  }

  private fetch(digest: Digest, missing: BlobError): Uint8Array {
    const place = this.places.get(digest);
    if (!place) throw missing;
    // The rest of the file comes in the same request: its chunks follow this one in the tar
    // with no gap (a tar header separates files), up to READ_AHEAD bytes, those not here yet.
    const run: ChunkSpan[] = [place.chunks[place.at]!];
    for (let next = place.at + 1; next < place.chunks.length; next++) {
      const last = run.at(-1)!;
      const span = place.chunks[next]!;
      if (span[1] !== last[1] + last[2] || span[1] + span[2] - place.offset > READ_AHEAD || this.inner.has(span[0])) break;
      run.push(span);
    }
    const end = run.at(-1)![1] + run.at(-1)![2];
    let bytes: Uint8Array;
    try {
      bytes = this.fetcher.fetch(place, place.offset, end);
    } catch (error) {
      throw new BlobError(digest, 'missing', { cause: error });
    }
    let wanted: Uint8Array | undefined;
    for (const [chunk, offset, length] of run) {
      const part = bytes.subarray(offset - place.offset, offset - place.offset + length);
      // Checked before it is stored: bytes that hash to another digest are not this chunk.
      const hashed = toDigest(xxh64(part));
      const stored = chunk === hashed || chunk.startsWith(`${hashed}~`) ? this.inner.put(part) : hashed;
      if (stored !== chunk) {
        if (chunk !== digest) break;
        throw new BlobError(digest, 'corrupt', { cause: new Error(`${place.record.registry}/${place.record.repository}: blob ${place.blob} bytes ${offset}-${offset + length - 1} are not chunk ${chunk} (they hash to ${stored})`) });
      }
      this.fetched.chunks++;
      this.fetched.bytes += length;
      if (chunk === digest) wanted = Uint8Array.prototype.slice.call(part);
    }
    return wanted!;
  }
}

/**
 * For Engine.open: wraps the store readers use when the store holds lazily pulled images;
 * undefined when it holds none (the store is used as it is).
 */
export function lazyReads(storeDir: string, env: NodeJS.ProcessEnv = process.env): ((store: BlobStore) => BlobStore) | undefined {
  const records = new LazyRecords(storeDir);
  if (records.all().length === 0) return undefined;
  return (store) => new LazyBlobStore(store, records.places(), new SyncFetcher(lazyTimeoutMs(env)));
}
