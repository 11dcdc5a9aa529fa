import type { OciDigest } from '../image/digest.js';
import type { ChunkSpan } from './lazy-index.js';
import type { ChunkPlace, LazyRecord } from './lazy-records.js';
import { recordClient } from './lazy-rest.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** A run of neighbouring chunks of one registry blob (spans in tar order, no gaps) and who waits for it. */
interface Run {
  place: ChunkPlace;
  spans: ChunkSpan[];
  done: (bytes: Uint8Array) => void;
  failed: (error: unknown) => void;
}

/** Requests in flight at once: distribution spends ~3 ms of CPU per request on 2 cores, more buy little. */
const MAX_REQUESTS = 2;
/** Ranges in one request (the Range header stays a few KiB) and bytes (one answer held whole). */
const RANGES_PER_REQUEST = 128;
const BYTES_PER_REQUEST = 8 * 1024 * 1024;

/**
 * Fetches runs of chunks asynchronously, on this thread, for readers that can wait (the FUSE
 * daemon answers a READ when its chunks are in, serving other requests meanwhile). Runs asked
 * for while requests are in flight are gathered: the runs of one blob go several to a request
 * (`Range: bytes=a-b,c-d`, multipart/byteranges), so concurrent reads of several files cost one
 * round trip, not one each (distribution answers a range in ~3 ms however small it is).
 */
export class RangeBatcher {
  private queue: Run[] = [];
  private active = 0;
  private scheduled = false;
  private readonly clients = new Map<LazyRecord, RegistryClient>();

  /** The bytes of a run, from its first span's offset to its last span's end. */
  fetch(place: ChunkPlace, spans: ChunkSpan[]): Promise<Uint8Array> {
    return new Promise((done, failed) => {
      this.queue.push({ place, spans, done, failed });
      // Gathered until the session has read every request the kernel had queued (one turn).
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private pump(): void {
    while (this.active < MAX_REQUESTS && this.queue.length > 0) {
      const first = this.queue[0]!;
      const batch: Run[] = [];
      const rest: Run[] = [];
      let bytes = 0;
      for (const run of this.queue) {
        const length = end(run.spans) - run.spans[0]![1];
        const fits = run.place.record === first.place.record && run.place.blob === first.place.blob && batch.length < RANGES_PER_REQUEST && (batch.length === 0 || bytes + length <= BYTES_PER_REQUEST);
        if (fits) {
          batch.push(run);
          bytes += length;
        } else {
          rest.push(run);
        }
      }
      this.queue = rest;
      this.active++;
      void this.send(first.place.record, first.place.blob, batch).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async send(record: LazyRecord, blob: OciDigest, batch: Run[]): Promise<void> {
    // In offset order: a registry reads its blob forward.
    batch.sort((a, b) => a.spans[0]![1] - b.spans[0]![1]);
    let client = this.clients.get(record);
    if (!client) this.clients.set(record, (client = recordClient(record)));
    try {
      const parts = await client.blobRanges(record.repository, blob, batch.map((run) => [run.spans[0]![1], end(run.spans)]));
      batch.forEach((run, i) => run.done(parts[i]!));
    } catch (error) {
      const failure = error instanceof RegistryError ? error : new RegistryError('ENETWORK', `${record.registry}/${record.repository}: blob ${blob}: ${(error as Error).message}`, { cause: error });
      for (const run of batch) run.failed(failure);
    }
  }
}

function end(spans: ChunkSpan[]): number {
  const last = spans.at(-1)!;
  return last[1] + last[2];
}
