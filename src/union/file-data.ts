import { type BlobStore, type Content, type Digest, putChunk } from '../store/index.js';

/**
 * The bytes of a file in a container's upper layer: the chunks of the lower file it was copied up
 * from (shared, never copied) plus a patch of the chunks this container changed. A copy-up is
 * O(1) whatever the file's size, and a write adds only what it changed.
 *
 * Changed chunks stay as raw bytes (Dirty) until flushed, so a run of small writes into one chunk
 * stores one blob, not one per write. A flushed chunk that differs from the chunk it replaced in
 * one short range is stored as that range alone (a Delta): a 4 KiB write into a 64 KiB chunk costs
 * 4 KiB. Dirty chunks are flushed on fsync, commit, save and fork, and when a file holds more
 * than MAX_DIRTY of them; the view also bounds them across files (UnionView's dirty budget).
 */
export interface FileData {
  size: number;
  readonly chunkSize: number;
  /** The lower inode whose chunks are the base (0 for a file created in the container). */
  readonly origin: number;
  readonly base: readonly (Digest | null)[];
  /** Base chunks at or past this index were cut off by a truncate and read as zeros. */
  baseLimit: number;
  readonly patch: Map<number, Chunk>;
  /** Bytes held by this file's dirty chunks: what a flush would release. */
  dirtyBytes: number;
}

/** A chunk: a blob, a hole (null), a delta over a blob, or bytes not stored yet. */
export type Chunk = Digest | null | Delta | Dirty;

/** A stored chunk's bytes with one range replaced by the bytes of another blob. */
export interface Delta {
  readonly kind: 'delta';
  readonly under: Digest | null;
  readonly offset: number;
  readonly bytes: Digest;
}

interface Dirty {
  readonly kind: 'dirty';
  /** Up to chunkSize long; bytes past its end or the file's end are zeros. */
  readonly bytes: Uint8Array;
  /** The stored chunk these bytes replace: a delta is taken against it. */
  readonly under: Digest | null;
  /**
   * Set when `bytes` are only the range a write replaced, from this offset, over `under` (a delta
   * not stored yet): a small write into a stored chunk copies neither the chunk now nor has to
   * search for what changed when stored. A second write into the chunk makes it whole.
   */
  readonly offset?: number;
}

const MAX_DIRTY = 256;
/** A delta larger than this share of a chunk is not worth the indirection: store the chunk. */
const MAX_DELTA_SHARE = 0.25;

export function newFileData(chunkSize: number): FileData {
  return { size: 0, chunkSize, origin: 0, base: [], baseLimit: 0, patch: new Map(), dirtyBytes: 0 };
}

export function fileDataFrom(content: Content, origin: number): FileData {
  const { size, chunkSize, chunks } = content;
  return { size, chunkSize, origin, base: chunks, baseLimit: chunks.length, patch: new Map(), dirtyBytes: 0 };
}

/** The content a file was copied up from, when nothing was written or cut since. */
export function unchangedContent(data: FileData): Content | undefined {
  const { size, chunkSize, base, baseLimit, patch } = data;
  if (patch.size > 0 || baseLimit < base.length || Math.ceil(size / chunkSize) !== base.length) return undefined;
  return { size, chunkSize, chunks: base };
}

/** The data of a file whose content was stored for it alone (no lower origin): its chunks are all its own. */
export function ownFileData(content: Content): FileData {
  const patch = new Map<number, Chunk>();
  content.chunks.forEach((digest, index) => digest !== null && patch.set(index, digest));
  return { size: content.size, chunkSize: content.chunkSize, origin: 0, base: [], baseLimit: 0, patch, dirtyBytes: 0 };
}

export function cloneFileData(data: FileData): FileData {
  return { ...data, patch: new Map(data.patch) };
}

function chunkAt(data: FileData, index: number): Chunk {
  const patched = data.patch.get(index);
  if (patched !== undefined) return patched;
  return index < data.baseLimit ? (data.base[index] ?? null) : null;
}

/** Length of chunk `index` in a file of `size` bytes. */
function chunkLength(data: FileData, index: number, size = data.size): number {
  return Math.max(0, Math.min(data.chunkSize, size - index * data.chunkSize));
}

function isDirty(chunk: Chunk): chunk is Dirty {
  return chunk !== null && typeof chunk === 'object' && chunk.kind === 'dirty';
}

/** The stored bytes of a chunk (a delta applied), or undefined for a hole. May be short. */
function chunkBytes(store: BlobStore, chunk: Chunk): Uint8Array | undefined {
  if (chunk === null) return undefined;
  if (typeof chunk === 'string') return store.get(chunk);
  if (chunk.kind === 'dirty' && chunk.offset === undefined) return chunk.bytes;
  const delta = chunk.kind === 'dirty' ? chunk.bytes : store.get(chunk.bytes);
  return overlay(store, chunk.under, chunk.offset!, delta);
}

/** The bytes of stored chunk `under` with `bytes` written at `offset`. */
function overlay(store: BlobStore, under: Digest | null, offset: number, bytes: Uint8Array): Uint8Array {
  const below = under === null ? undefined : store.get(under);
  const out = new Uint8Array(Math.max(below?.length ?? 0, offset + bytes.length));
  if (below) out.set(below);
  out.set(bytes, offset);
  return out;
}

/** Copies bytes [offset, offset+length) of the file into target; returns how many there were. */
export function readFileData(store: BlobStore, data: FileData, offset: number, length: number, target: Uint8Array, targetOffset = 0): number {
  const end = Math.min(data.size, offset + length);
  for (let at = offset; at < end; ) {
    const index = Math.floor(at / data.chunkSize);
    const from = at - index * data.chunkSize;
    const take = Math.min(end - at, data.chunkSize - from);
    const chunk = chunkAt(data, index);
    const destination = targetOffset + at - offset;
    // A whole stored chunk goes straight into the target (a short blob reads as zeros after it).
    const whole = typeof chunk === 'string' && from === 0 ? store.readInto(chunk, target, destination, take) : -1;
    if (whole >= 0) {
      target.fill(0, destination + whole, destination + take);
      at += take;
      continue;
    }
    const bytes = chunkBytes(store, chunk);
    const available = bytes ? Math.max(0, Math.min(take, bytes.length - from)) : 0;
    if (bytes && available > 0) target.set(bytes.subarray(from, from + available), destination);
    // Past a stored chunk's end (a file grown by truncate or a later write) the bytes are zeros.
    target.fill(0, destination + available, destination + take);
    at += take;
  }
  return Math.max(0, end - offset);
}

/**
 * A writable copy of chunk `index`, at least `length` bytes long (zeros past the file's end). It
 * starts no larger than needed, so a small file does not cost a whole chunk, and grows up to
 * chunkSize as writes reach further.
 */
function dirtyChunk(store: BlobStore, data: FileData, index: number, length: number): Uint8Array {
  const chunk = chunkAt(data, index);
  if (isDirty(chunk) && chunk.offset === undefined) {
    if (chunk.bytes.length >= length) return chunk.bytes;
    const grown = uninitialized(Math.min(data.chunkSize, Math.max(length, chunk.bytes.length * 2)));
    grown.set(chunk.bytes);
    grown.fill(0, chunk.bytes.length);
    data.dirtyBytes += grown.length - chunk.bytes.length;
    data.patch.set(index, { ...chunk, bytes: grown });
    return grown;
  }
  const current = chunkLength(data, index);
  const bytes = uninitialized(Math.max(length, current));
  readFileData(store, data, index * data.chunkSize, current, bytes);
  bytes.fill(0, current);
  // A delta is always taken against a whole stored chunk, never against another delta.
  const under = chunk === null || typeof chunk === 'string' ? chunk : chunk.under;
  data.patch.set(index, { kind: 'dirty', bytes, under });
  data.dirtyBytes += bytes.length - (isDirty(chunk) ? chunk.bytes.length : 0);
  return bytes;
}

/**
 * A buffer the caller fills entirely: skipping the zero-fill makes copying a chunk up cheaper.
 * Never a slice of Node's shared pool, which a long-kept dirty chunk would keep alive.
 */
function uninitialized(length: number): Uint8Array {
  return Buffer.allocUnsafeSlow(length);
}

export function writeFileData(store: BlobStore, data: FileData, offset: number, bytes: Uint8Array): void {
  // A write of nothing does not grow the file, wherever it is aimed (pwrite(2)).
  if (bytes.length === 0) return;
  const end = offset + bytes.length;
  for (let at = offset; at < end; ) {
    const index = Math.floor(at / data.chunkSize);
    const from = at - index * data.chunkSize;
    const take = Math.min(end - at, data.chunkSize - from);
    const written = bytes.subarray(at - offset, at - offset + take);
    const chunk = chunkAt(data, index);
    if (typeof chunk === 'string' && from + take <= chunkLength(data, index) && take <= data.chunkSize * MAX_DELTA_SHARE) {
      // Within a stored chunk and small: kept as the range alone, stored as a delta.
      const copy = uninitialized(take);
      copy.set(written);
      data.patch.set(index, { kind: 'dirty', bytes: copy, under: chunk, offset: from });
      data.dirtyBytes += take;
    } else dirtyChunk(store, data, index, from + take).set(written, from);
    at += take;
  }
  data.size = Math.max(data.size, end);
  if (countDirty(data) > MAX_DIRTY) flushFileData(store, data, Math.floor((end - 1) / data.chunkSize));
}

export function truncateFileData(store: BlobStore, data: FileData, size: number): void {
  if (size < data.size) {
    const keep = Math.ceil(size / data.chunkSize);
    for (const [index, chunk] of [...data.patch]) {
      if (index < keep) continue;
      if (isDirty(chunk)) data.dirtyBytes -= chunk.bytes.length;
      data.patch.delete(index);
    }
    data.baseLimit = Math.min(data.baseLimit, keep);
    // The kept part of a cut chunk must read as zeros past the new end if the file grows again.
    const tail = size % data.chunkSize;
    if (tail !== 0) dirtyChunk(store, data, keep - 1, tail).fill(0, tail);
  }
  data.size = size;
}

function countDirty(data: FileData): number {
  let count = 0;
  for (const chunk of data.patch.values()) if (isDirty(chunk)) count++;
  return count;
}

/** Stores dirty chunks (all but `keep`, the chunk a writer is most likely to touch next). */
export function flushFileData(store: BlobStore, data: FileData, keep = -1): void {
  for (const [index, chunk] of data.patch) {
    if (!isDirty(chunk) || index === keep) continue;
    data.patch.set(index, storeDirty(store, chunk, chunkLength(data, index)));
    data.dirtyBytes -= chunk.bytes.length;
  }
}

const BLOCK = 4096;

/**
 * The first index from `start` towards `end` (exclusive, stepping by `step`) where a and b
 * differ, or `end`. Whole blocks are compared with memcmp; only a differing block is scanned.
 */
function firstDifference(a: Uint8Array, b: Uint8Array, start: number, end: number, step: 1 | -1): number {
  for (let at = start; step > 0 ? at < end : at > end; at += step * BLOCK) {
    const stop = step > 0 ? Math.min(at + BLOCK, end) : Math.max(at - BLOCK, end);
    const [low, high] = step > 0 ? [at, stop] : [stop + 1, at + 1];
    if (Buffer.compare(a.subarray(low, high), b.subarray(low, high)) === 0) continue;
    for (let i = at; i !== stop; i += step) if (a[i] !== b[i]) return i;
  }
  return end;
}

function storeDirty(store: BlobStore, dirty: Dirty, length: number): Chunk {
  // Made only for a small write within the chunk, so it is stored as the delta it is.
  if (dirty.offset !== undefined) return { kind: 'delta', under: dirty.under, offset: dirty.offset, bytes: store.put(dirty.bytes) };
  let bytes = dirty.bytes.subarray(0, length);
  if (bytes.length < length) {
    // The file grew past the buffer by a truncate: the rest of the chunk is zeros.
    const padded = new Uint8Array(length);
    padded.set(bytes);
    bytes = padded;
  }
  const under = dirty.under === null ? undefined : store.get(dirty.under);
  if (!under || under.length !== length) return putChunk(store, bytes);
  const first = firstDifference(bytes, under, 0, length, 1);
  if (first === length) return dirty.under!;
  const last = firstDifference(bytes, under, length - 1, first - 1, -1);
  if (last - first + 1 > length * MAX_DELTA_SHARE) return putChunk(store, bytes);
  return { kind: 'delta', under: dirty.under, offset: first, bytes: store.put(bytes.subarray(first, last + 1)) };
}

export function hasDirtyChunks(data: FileData): boolean {
  for (const chunk of data.patch.values()) if (isDirty(chunk)) return true;
  return false;
}

/** The file as immutable content: every chunk a whole blob (flush first). */
export function fileDataContent(store: BlobStore, data: FileData): Content {
  const chunks: (Digest | null)[] = [];
  const count = Math.ceil(data.size / data.chunkSize);
  for (let index = 0; index < count; index++) {
    const chunk = chunkAt(data, index);
    if (isDirty(chunk)) throw new Error('fileDataContent of a file with dirty chunks');
    chunks.push(chunk === null || typeof chunk === 'string' ? chunk : putChunk(store, chunkBytes(store, chunk)!));
  }
  return { size: data.size, chunkSize: data.chunkSize, chunks };
}
