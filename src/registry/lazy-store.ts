import { BlobError, type BlobStore, type Digest, toDigest, xxh64 } from '../store/index.js';
import { RegistryError } from './errors.js';
import type { ChunkSpan } from './lazy-index.js';
import { storeFetched } from './fetched-chunk.js';
import { type ChunkPlace, LazyRecords } from './lazy-records.js';
import { RangeBatcher } from './range-batcher.js';
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
 * a lazy record places in a registry blob, is fetched (a Range request), checked against its
 * digest by the inner store's own put (the digest of the bytes must be the one asked for), kept,
 * and returned: never fetched twice, never wrong bytes. Everything else is the inner store's;
 * `has` answers for what is here, so gc and df see the truth, and `fetchable` tells verify
 * which missing chunks are only not fetched yet.
 *
 * Two ways in: `get` and `readInto` are synchronous (the union reads through them) and wait for
 * one request at a time (SyncFetcher); `ready` lets a reader that can wait (the FUSE daemon)
 * ask for a read's chunks and serve others meanwhile, so concurrent reads share requests
 * (RangeBatcher).
 */
export class LazyBlobStore extends WrappedStore {
  /** Chunks fetched, and their bytes (for df and benchmarks). */
  fetched = { chunks: 0, bytes: 0 };
  /** Chunks asked for by `ready` and not stored yet: the promise a second reader waits on too. */
  private readonly pending = new Map<Digest, Promise<void>>();
  private batcher: RangeBatcher | undefined;

  constructor(
    inner: BlobStore,
    private readonly places: Map<Digest, ChunkPlace>,
    private readonly fetcher: SyncFetcher,
    private readonly timeoutMs = lazyTimeoutMs(),
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

  /** Not here, but a lazy record says where to fetch it. */
  fetchable(digest: Digest): boolean {
    return this.places.has(digest) && !this.inner.has(digest);
  }

  /**
   * Undefined when every one of `digests` can be read at once; else a promise that settles
   * when they can (the missing ones fetched, with their runs, in as few requests as the reads
   * waiting together allow), or rejects with the reason a fetch failed or timed out.
   */
  ready(digests: Iterable<Digest>): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined;
    for (const digest of digests) {
      const waiting = this.pending.get(digest) ?? (this.places.has(digest) && !this.inner.has(digest) ? this.fetchLater(digest) : undefined);
      if (waiting) (waits ??= []).push(waiting);
    }
    if (!waits) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  close(): void {
    this.fetcher.close();
    this.batcher?.close();
  }

  private fetch(digest: Digest, missing: BlobError): Uint8Array {
    const place = this.places.get(digest);
    if (!place) throw missing;
    const run = this.runFrom(place);
    let bytes: Uint8Array;
    try {
      bytes = this.fetcher.fetch(place, place.offset, end(run));
    } catch (error) {
      throw new BlobError(digest, 'missing', { cause: error });
    }
    return this.keep(place, run, bytes);
  }

  private fetchLater(digest: Digest): Promise<void> {
    const place = this.places.get(digest)!;
    const run = this.runFrom(place, (chunk) => this.pending.has(chunk));
    const batcher = (this.batcher ??= new RangeBatcher());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RegistryError('ENETWORK', `${place.record.registry}/${place.record.repository}: blob ${place.blob} bytes ${place.offset}-${end(run) - 1}: no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      timer.unref();
    });
    const fetched = Promise.race([batcher.fetch(place, run), timedOut])
      .then((bytes) => void this.keep(place, run, bytes))
      .catch((error: unknown) => {
        throw error instanceof BlobError ? error : new BlobError(digest, 'missing', { cause: error });
      })
      .finally(() => {
        clearTimeout(timer);
        for (const [chunk] of run) if (this.pending.get(chunk) === fetched) this.pending.delete(chunk);
      });
    for (const [chunk] of run) this.pending.set(chunk, fetched);
    return fetched;
  }

  /**
   * The chunk at `place` and the rest of its file behind it: its chunks follow this one in the
   * tar with no gap (a tar header separates files), up to READ_AHEAD bytes, those not here yet
   * (nor `skip`ped: already on their way).
   */
  private runFrom(place: ChunkPlace, skip: (digest: Digest) => boolean = () => false): ChunkSpan[] {
    const run: ChunkSpan[] = [place.chunks[place.at]!];
    for (let next = place.at + 1; next < place.chunks.length; next++) {
      const last = run.at(-1)!;
      const span = place.chunks[next]!;
      if (span[1] !== last[1] + last[2] || span[1] + span[2] - place.offset > READ_AHEAD || skip(span[0]) || this.inner.has(span[0])) break;
      run.push(span);
    }
    return run;
  }

  /**
   * Checks each chunk of a fetched run against its digest and stores it; returns the first one
   * (the chunk asked for). Bytes that hash to another digest are not that chunk: for the one
   * asked for that is a corrupt read, for a neighbour the rest of the run is left unstored.
   */
  private keep(place: ChunkPlace, run: ChunkSpan[], bytes: Uint8Array): Uint8Array {
    const start = run[0]![1];
    for (const [chunk, offset, length] of run) {
      const part = bytes.subarray(offset - start, offset - start + length);
      if (!storeFetched(this.inner, chunk, part)) {
        if (offset !== start) break;
        throw new BlobError(chunk, 'corrupt', { cause: new Error(`${place.record.registry}/${place.record.repository}: blob ${place.blob} bytes ${offset}-${offset + length - 1} are not chunk ${chunk} (they hash to ${toDigest(xxh64(part))})`) });
      }
      this.fetched.chunks++;
      this.fetched.bytes += length;
    }
    return bytes.slice(0, run[0]![2]);
  }

}

function end(run: ChunkSpan[]): number {
  const last = run.at(-1)!;
  return last[1] + last[2];
}

/**
 * For Engine.open: wraps the store readers use when the store holds lazily pulled images;
 * undefined when it holds none (the store is used as it is).
 */
export function lazyReads(storeDir: string, env: NodeJS.ProcessEnv = process.env): ((store: BlobStore) => BlobStore) | undefined {
  const records = new LazyRecords(storeDir);
  if (records.all().length === 0) return undefined;
  return (store) => new LazyBlobStore(store, records.places(), new SyncFetcher(lazyTimeoutMs(env)), lazyTimeoutMs(env));
}
