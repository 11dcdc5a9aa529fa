import * as fs from 'node:fs';
import type { BlobStore, FileWriter } from './blob-store.js';
import type { Digest } from './digest.js';

export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/**
 * The bytes of a file: fixed-size chunks, each a blob, so identical chunks are stored once and a
 * write replaces single chunks. `null` is a chunk of zeros (a hole): it costs no blob. Files no
 * larger than one chunk are a single blob. The last chunk may be short.
 */
export interface Content {
  readonly size: number;
  readonly chunkSize: number;
  readonly chunks: readonly (Digest | null)[];
}

export function emptyContent(chunkSize = DEFAULT_CHUNK_SIZE): Content {
  return { size: 0, chunkSize, chunks: [] };
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

// One buffer of zeros, grown to the longest chunk seen: a buffer per length would keep up to
// chunkSize of them alive (every small file's length is a new one).
let zeros = new Uint8Array(DEFAULT_CHUNK_SIZE);

export function isAllZero(bytes: Uint8Array): boolean {
  if (bytes.length > zeros.length) zeros = new Uint8Array(bytes.length);
  return Buffer.compare(bytes, zeros.subarray(0, bytes.length)) === 0;
}

/** Stores one chunk's bytes: all zeros become a hole. */
export function putChunk(store: BlobStore, bytes: Uint8Array): Digest | null {
  return isAllZero(bytes) ? null : store.put(bytes);
}

/**
 * Stores a file's bytes (a path, or a descriptor open for reading) as chunked content, read a
 * chunk at a time, through `writer` (one taking the file itself as its object, see
 * DirBlobStore.adoptFile) or else chunk by chunk into `store`.
 */
export function storeFile(file: string | number, chunkSize: number, writer: FileWriter | undefined, store?: BlobStore): Content {
  const chunks: (Digest | null)[] = [];
  // A descriptor is the caller's to close.
  const fd = typeof file === 'number' ? file : fs.openSync(file, 'r');
  let size = 0;
  try {
    const buffer = Buffer.allocUnsafe(chunkSize);
    for (;;) {
      let length = 0;
      for (let got = -1; got !== 0 && length < chunkSize; length += got) got = fs.readSync(fd, buffer, length, chunkSize - length, size + length);
      if (length === 0) break;
      const chunk = buffer.subarray(0, length);
      chunks.push(writer ? writer.put(chunk) : putChunk(store!, chunk));
      size += length;
      if (length < chunkSize) break;
    }
  } catch (error) {
    writer?.abort();
    throw error;
  } finally {
    if (fd !== file) fs.closeSync(fd);
  }
  writer?.finish(size);
  return { size, chunkSize, chunks };
}

/** Stores bytes as chunked content. */
export function putContent(store: BlobStore, bytes: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): Content {
  // A chunk size of 0 would loop forever.
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`bad chunk size ${chunkSize}`);
  const chunks: (Digest | null)[] = [];
  // The store's file writer, where it has one, lays a file out whole (or packs a small one).
  const file = bytes.length > 0 ? store.fileWriter?.(chunkSize) : undefined;
  try {
    for (let at = 0; at < bytes.length; at += chunkSize) {
      const chunk = bytes.subarray(at, at + chunkSize);
      chunks.push(file ? file.put(chunk) : putChunk(store, chunk));
    }
    file?.finish(bytes.length);
  } catch (error) {
    file?.abort();
    throw error;
  }
  return { size: bytes.length, chunkSize, chunks };
}

/** The bytes of chunk `index` (zeros for a hole), exactly as long as the file makes it. */
export function readChunk(store: BlobStore, content: Content, index: number): Uint8Array {
  const length = Math.min(content.chunkSize, content.size - index * content.chunkSize);
  if (length <= 0) return new Uint8Array(0);
  const digest = content.chunks[index];
  if (digest === null || digest === undefined) return new Uint8Array(length);
  const bytes = store.get(digest);
  if (bytes.length === length) return bytes;
  // A chunk may be shorter than its slot after a truncate extended the file: the rest is zeros.
  const padded = new Uint8Array(length);
  padded.set(bytes.subarray(0, length));
  return padded;
}

/** Copies up to `length` bytes from `offset` into `target` at `targetOffset`; returns the count. */
export function readContentInto(
  store: BlobStore,
  content: Content,
  offset: number,
  length: number,
  target: Uint8Array,
  targetOffset = 0,
): number {
  const end = Math.min(content.size, offset + length);
  let at = offset;
  while (at < end) {
    const index = Math.floor(at / content.chunkSize);
    const chunkStart = index * content.chunkSize;
    const take = Math.min(end, chunkStart + content.chunkSize) - at;
    const digest = content.chunks[index];
    const destination = targetOffset + (at - offset);
    if (digest === null || digest === undefined) {
      target.fill(0, destination, destination + take);
    } else {
      const bytes = store.get(digest);
      const from = at - chunkStart;
      const available = Math.max(0, Math.min(take, bytes.length - from));
      target.set(bytes.subarray(from, from + available), destination);
      target.fill(0, destination + available, destination + take);
    }
    at += take;
  }
  return Math.max(0, end - offset);
}

export function readContent(store: BlobStore, content: Content, offset = 0, length = content.size - offset): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(length, content.size - offset)));
  readContentInto(store, content, offset, out.length, out);
  return out;
}

/** Every blob the content references, holes excluded. */
export function* contentDigests(content: Content): Iterable<Digest> {
  for (const digest of content.chunks) if (digest !== null) yield digest;
}
