import type { Engine } from '../container/index.js';
import type { OciDigest } from '../image/digest.js';
import type { BlobStore, Digest } from '../store/index.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import type { ChunkSpan } from './lazy-index.js';
import { type LazyRecord, LazyRecords } from './lazy-records.js';
import { storeFetched } from './fetched-chunk.js';
import { mapLimit } from './push.js';

export interface LazyPresence {
  image: string;
  /** Distinct chunk bytes of the image, and those in the store. */
  totalBytes: number;
  presentBytes: number;
  chunks: number;
  presentChunks: number;
}

/** How much of each lazily pulled image is in the store (for `layerfs df`). */
export function lazyPresence(engine: Engine): LazyPresence[] {
  const images = new Set(engine.images().map((image) => image.name));
  return new LazyRecords(engine.dir).all().filter((record) => images.has(record.image)).map((record) => {
    const presence: LazyPresence = { image: record.image, totalBytes: 0, presentBytes: 0, chunks: 0, presentChunks: 0 };
    for (const [, [, length, here]] of distinctChunks(record, engine.store)) {
      presence.chunks++;
      presence.totalBytes += length;
      if (here) {
        presence.presentChunks++;
        presence.presentBytes += length;
      }
    }
    return presence;
  });
}

function distinctChunks(record: LazyRecord, store: BlobStore): Map<Digest, [OciDigest, number, boolean]> {
  const chunks = new Map<Digest, [OciDigest, number, boolean]>();
  for (const layer of record.layers) for (const [digest, , length] of layer.chunks) if (!chunks.has(digest)) chunks.set(digest, [layer.blob, length, store.has(digest)]);
  return chunks;
}

/** Bytes fetched by one request: neighbouring missing chunks together, or several ranges. */
const RANGE = 8 * 1024 * 1024;
/** Ranges asked for in one request (the Range header stays a few KiB). */
const RANGES_PER_REQUEST = 128;

export interface FetchChunksOptions {
  /** Bytes between two wanted chunks that are fetched rather than split into two requests. */
  maxGap: number;
  /** Requests at once. */
  concurrency: number;
  onBytes?: (done: number, total: number) => void;
}

/**
 * Fetches the wanted chunks of a lazy record that are not in the store: neighbours (gaps up to
 * `maxGap`) in one Range request of at most 8 MiB, several requests at once, each chunk checked
 * against its digest before it is stored.
 */
export async function fetchChunks(store: BlobStore, client: RegistryClient, record: LazyRecord, wanted: (digest: Digest) => boolean, options: FetchChunksOptions): Promise<{ fetchedBytes: number; chunks: number }> {
  const ranges: { blob: OciDigest; spans: ChunkSpan[] }[] = [];
  const seen = new Set<Digest>();
  for (const layer of record.layers) {
    const missing = layer.chunks.filter(([digest]) => wanted(digest) && !seen.has(digest) && !store.has(digest) && seen.add(digest)).sort((a, b) => a[1] - b[1]);
    let current: ChunkSpan[] = [];
    for (const span of missing) {
      const first = current[0];
      const last = current.at(-1);
      if (first && last && (span[1] + span[2] - first[1] > RANGE || span[1] - (last[1] + last[2]) > options.maxGap)) {
        ranges.push({ blob: layer.blob, spans: current });
        current = [];
      }
      current.push(span);
    }
    if (current.length > 0) ranges.push({ blob: layer.blob, spans: current });
  }
  const total = ranges.reduce((sum, range) => sum + range.spans.reduce((bytes, span) => bytes + span[2], 0), 0);
  // Scattered ranges of one blob go several to a request (multipart/byteranges), up to RANGE bytes.
  const requests: { blob: OciDigest; ranges: ChunkSpan[][] }[] = [];
  for (const range of ranges) {
    const last = requests.at(-1);
    const bytes = (spans: ChunkSpan[]) => spans.at(-1)![1] + spans.at(-1)![2] - spans[0]![1];
    if (last && last.blob === range.blob && last.ranges.length < RANGES_PER_REQUEST && last.ranges.reduce((sum, spans) => sum + bytes(spans), 0) + bytes(range.spans) <= RANGE) last.ranges.push(range.spans);
    else requests.push({ blob: range.blob, ranges: [range.spans] });
  }
  let fetchedBytes = 0;
  let chunks = 0;
  await mapLimit(requests, options.concurrency, async ({ blob, ranges: groups }) => {
    const parts = await client.blobRanges(record.repository, blob, groups.map((spans) => [spans[0]![1], spans.at(-1)![1] + spans.at(-1)![2]]));
    groups.forEach((spans, i) => {
      const bytes = parts[i]!;
      const start = spans[0]![1];
      for (const [digest, offset, length] of spans) {
        if (!storeFetched(store, digest, bytes.subarray(offset - start, offset - start + length))) {
          throw new RegistryError('EDIGEST', `${record.registry}/${record.repository}: blob ${blob} bytes ${offset}-${offset + length - 1} are not chunk ${digest}`);
        }
        fetchedBytes += length;
        chunks++;
      }
    });
    options.onBytes?.(fetchedBytes, total);
  });
  return { fetchedBytes, chunks };
}

/** A client for the registry a lazy record names, with the settings it was pulled with. */
export function recordClient(record: LazyRecord, options: ClientOptions = {}): RegistryClient {
  return new RegistryClient(record.registry, record.scheme, { ...(record.caFile ? { caFile: record.caFile } : {}), ...(record.insecure ? { insecure: true } : {}), ...options });
}

/**
 * Fetches every chunk of a lazily pulled image that is not in the store yet (`pull --rest`).
 * When all are in, the image's lazy record is removed: it is an image like any other.
 */
export async function fetchRest(engine: Engine, image: string, options: ClientOptions & { concurrency?: number; onBytes?: (done: number, total: number) => void } = {}): Promise<{ fetchedBytes: number; chunks: number }> {
  engine.imageRecord(image);
  const records = new LazyRecords(engine.dir);
  const record = records.get(image);
  if (!record) return { fetchedBytes: 0, chunks: 0 };
  const client = recordClient(record, options);
  const work = engine.pin(`fetching the rest of ${image}`);
  try {
    const done = await fetchChunks(engine.store, client, record, () => true, { maxGap: RANGE, concurrency: options.concurrency ?? 4, ...(options.onBytes ? { onBytes: options.onBytes } : {}) });
    engine.store.sync();
    records.remove(image);
    return done;
  } finally {
    work.release();
    client.close();
  }
}
