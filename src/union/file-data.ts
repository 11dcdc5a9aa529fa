import { type BlobStore, type Content, type Digest, putChunk } from '../store/index.js';

/**
 * The bytes of a file in a container's upper layer: the chunks of the lower file it was copied up
 * from (shared, never copied) plus a patch of the chunks this container changed. A copy-up is
 * O(1) whatever the file's size, and a write adds only the chunks it touches.
 *
 * Changed chunks stay as raw bytes ("dirty") until flushed, so a run of small writes into one
 * chunk stores one blob, not one per write. Dirty chunks are flushed on fsync, close, commit and
 * fork, and when a file holds more than MAX_DIRTY of them.
 */
export interface FileData {
  size: number;
  readonly chunkSize: number;
  /** The lower inode whose chunks are the base (0 for a file created in the container). */
  readonly origin: number;
  readonly base: readonly (Digest | null)[];
  /** Base chunks at or past this index were cut off by a truncate and read as zeros. */
  baseLimit: number;
  readonly patch: Map<number, Digest | null | Uint8Array>;
}

const MAX_DIRTY = 256;

export function newFileData(chunkSize: number): FileData {
  return { size: 0, chunkSize, origin: 0, base: [], baseLimit: 0, patch: new Map() };
}

export function fileDataFrom(content: Content, origin: number): FileData {
  const { size, chunkSize, chunks } = content;
  return { size, chunkSize, origin, base: chunks, baseLimit: chunks.length, patch: new Map() };
}

export function cloneFileData(data: FileData): FileData {
  return { ...data, patch: new Map(data.patch) };
}

function chunkAt(data: FileData, index: number): Digest | null | Uint8Array {
  const patched = data.patch.get(index);
  if (patched !== undefined) return patched;
  return index < data.baseLimit ? (data.base[index] ?? null) : null;
}

/** Length of chunk `index` in a file of `size` bytes. */
function chunkLength(data: FileData, index: number, size = data.size): number {
  return Math.max(0, Math.min(data.chunkSize, size - index * data.chunkSize));
}

/** Copies bytes [offset, offset+length) of the file into target; returns how many there were. */
export function readFileData(store: BlobStore, data: FileData, offset: number, length: number, target: Uint8Array, targetOffset = 0): number {
  const end = Math.min(data.size, offset + length);
  for (let at = offset; at < end; ) {
    const index = Math.floor(at / data.chunkSize);
    const from = at - index * data.chunkSize;
    const take = Math.min(end - at, data.chunkSize - from);
    const chunk = chunkAt(data, index);
    const bytes = chunk === null ? undefined : chunk instanceof Uint8Array ? chunk : store.get(chunk);
    const destination = targetOffset + at - offset;
    const available = bytes ? Math.max(0, Math.min(take, bytes.length - from)) : 0;
    if (bytes && available > 0) target.set(bytes.subarray(from, from + available), destination);
    // Past a stored chunk's end (a file grown by truncate or a later write) the bytes are zeros.
    target.fill(0, destination + available, destination + take);
    at += take;
  }
  return Math.max(0, end - offset);
}

/** A writable copy of chunk `index`, chunkSize long, zero beyond the file's current end. */
function dirtyChunk(store: BlobStore, data: FileData, index: number): Uint8Array {
  const chunk = chunkAt(data, index);
  if (chunk instanceof Uint8Array) return chunk;
  const buffer = new Uint8Array(data.chunkSize);
  readFileData(store, data, index * data.chunkSize, chunkLength(data, index), buffer);
  data.patch.set(index, buffer);
  return buffer;
}

export function writeFileData(store: BlobStore, data: FileData, offset: number, bytes: Uint8Array): void {
  // A write of nothing does not grow the file, wherever it is aimed (pwrite(2)).
  if (bytes.length === 0) return;
  const end = offset + bytes.length;
  for (let at = offset; at < end; ) {
    const index = Math.floor(at / data.chunkSize);
    const from = at - index * data.chunkSize;
    const take = Math.min(end - at, data.chunkSize - from);
    const source = bytes.subarray(at - offset, at - offset + take);
    if (from === 0 && take === data.chunkSize) {
      data.patch.set(index, source.slice());
    } else {
      dirtyChunk(store, data, index).set(source, from);
    }
    at += take;
  }
  data.size = Math.max(data.size, end);
  if (countDirty(data) > MAX_DIRTY) flushFileData(store, data, Math.floor((end - 1) / data.chunkSize));
}

export function truncateFileData(store: BlobStore, data: FileData, size: number): void {
  if (size < data.size) {
    const keep = Math.ceil(size / data.chunkSize);
    for (const index of [...data.patch.keys()]) if (index >= keep) data.patch.delete(index);
    data.baseLimit = Math.min(data.baseLimit, keep);
    // The kept part of a cut chunk must read as zeros past the new end if the file grows again.
    const tail = size % data.chunkSize;
    if (tail !== 0) dirtyChunk(store, data, keep - 1).fill(0, tail);
  }
  data.size = size;
}

function countDirty(data: FileData): number {
  let count = 0;
  for (const chunk of data.patch.values()) if (chunk instanceof Uint8Array) count++;
  return count;
}

/** Stores dirty chunks as blobs (all but `keep`, the chunk a writer is most likely to touch next). */
export function flushFileData(store: BlobStore, data: FileData, keep = -1): void {
  for (const [index, chunk] of data.patch) {
    if (!(chunk instanceof Uint8Array) || index === keep) continue;
    data.patch.set(index, putChunk(store, chunk.subarray(0, chunkLength(data, index))));
  }
}

export function isDirty(data: FileData): boolean {
  for (const chunk of data.patch.values()) if (chunk instanceof Uint8Array) return true;
  return false;
}

/** The file as immutable content (flush first: dirty chunks are not allowed here). */
export function fileDataContent(data: FileData): Content {
  const chunks: (Digest | null)[] = [];
  const count = Math.ceil(data.size / data.chunkSize);
  for (let index = 0; index < count; index++) {
    const chunk = chunkAt(data, index);
    if (chunk instanceof Uint8Array) throw new Error('fileDataContent of a file with dirty chunks');
    chunks.push(chunk);
  }
  return { size: data.size, chunkSize: data.chunkSize, chunks };
}
