import type { BlobStore, FileWriter } from './blob-store.js';
import { type Content, DEFAULT_CHUNK_SIZE, putChunk } from './chunk.js';
import type { Digest } from './digest.js';

const EMPTY = new Uint8Array(0);

/**
 * Stores bytes that arrive in pieces of any size (a stream, a tar member) as chunked content,
 * holding at most one chunk in memory: a multi-GiB file is never buffered whole. Chunks go
 * through the store's file writer where it has one (the directory store lays a file out whole,
 * for the kernel to read directly, and packs small files), else one blob each.
 */
export class ContentWriter {
  private readonly chunks: (Digest | null)[] = [];
  /** The chunk being filled; grown as it fills (most files of an image are far smaller than a chunk). */
  private buffer: Uint8Array = EMPTY;
  private filled = 0;
  private size = 0;
  private readonly file: FileWriter | undefined;

  constructor(
    private readonly store: BlobStore,
    readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`bad chunk size ${chunkSize}`);
    this.file = store.fileWriter?.(chunkSize);
  }

  write(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      // Whole chunks straight from the caller's bytes: no copy (the store keeps its own).
      if (this.filled === 0 && bytes.length - at >= this.chunkSize) {
        this.putChunk(bytes.subarray(at, at + this.chunkSize));
        at += this.chunkSize;
        continue;
      }
      const take = Math.min(this.chunkSize - this.filled, bytes.length - at);
      this.reserve(this.filled + take);
      this.buffer.set(bytes.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.chunkSize) {
        this.putChunk(this.buffer);
        this.filled = 0;
      }
    }
    this.size += bytes.length;
  }

  /** The content written so far, the short last chunk stored. Write nothing after this. */
  finish(): Content {
    try {
      if (this.filled > 0) this.putChunk(this.buffer.subarray(0, this.filled));
      this.filled = 0;
      this.file?.finish(this.size);
    } catch (error) {
      this.abort();
      throw error;
    }
    return { size: this.size, chunkSize: this.chunkSize, chunks: this.chunks };
  }

  /** Drops what the file writer holds unpublished (the import failed). */
  abort(): void {
    this.file?.abort();
  }

  /** Room for `length` bytes in the buffer: doubled as needed, up to a chunk, so a small file allocates little. */
  private reserve(length: number): void {
    if (length <= this.buffer.length) return;
    const grown = new Uint8Array(Math.min(this.chunkSize, Math.max(length, 2 * this.buffer.length, 4096)));
    grown.set(this.buffer.subarray(0, this.filled));
    this.buffer = grown;
  }

  private putChunk(bytes: Uint8Array): void {
    this.chunks.push(this.file ? this.file.put(bytes) : putChunk(this.store, bytes));
  }
}
