import * as fs from 'node:fs';
import { ByteReader, ByteWriter, FormatError } from '../layer/codec.js';
import { type BlobStore, type Digest, xxh64 } from '../store/index.js';
import type { Image } from '../union/image.js';
import { removeFileDurably, writeFileAtomic } from '../durable-file.js';
import { type UpperDelta, chunkDigests, decodeDelta, encodeDelta, upperDigests } from './upper-codec.js';

/**
 * A container's journal: the incremental saves made since its upper layer was last saved whole,
 * appended to one file and made durable with one fdatasync each, so an fsync through a mount
 * costs about what the kernel's does instead of rewriting the whole upper layer.
 *
 *   file   = record*
 *   record = "LFJ1" length:u32 xxh64(payload):u64 payload
 *   payload = delta:blob count:uint (digest chunk:blob)*
 *
 * A record carries the bytes of the chunks written since the last save, so it needs no other
 * fsync: replaying it puts them back into the store if a crash lost (or tore) their blob files.
 * Bigger deltas sync their blobs instead of carrying them. A crash mid-append leaves a record
 * whose length or checksum does not match: reading stops there, at the state of the save before.
 */
const MAGIC = 0x314a464c; // "LFJ1" read as a little-endian u32
const HEADER = 16;
/** Chunk bytes a record carries at most; past this the blobs are synced instead. */
const INLINE_LIMIT = 4 * 1024 * 1024;

export interface JournalRecord {
  delta: UpperDelta;
  /** Chunks carried in the record, to be put back into the store. */
  chunks: Map<Digest, Uint8Array>;
}

/** The valid records of a journal file, and the length they span (a torn tail is left out). */
export function readJournal(file: string, image: Image | undefined): { records: JournalRecord[]; length: number } {
  const bytes = fs.readFileSync(file);
  const records: JournalRecord[] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    const length = bytes.readUInt32LE(at + 4);
    if (bytes.readUInt32LE(at) !== MAGIC || at + HEADER + length > bytes.length) break;
    const payload = bytes.subarray(at + HEADER, at + HEADER + length);
    if (xxh64(payload) !== bytes.readBigUInt64LE(at + 8)) break;
    records.push(decodeRecord(payload, image));
    at += HEADER + length;
  }
  return { records, length: at };
}

function decodeRecord(payload: Uint8Array, image: Image | undefined): JournalRecord {
  const input = new ByteReader(payload);
  const delta = decodeDelta(input.blob(), image);
  const chunks = new Map<Digest, Uint8Array>();
  for (let n = input.uint(); n > 0; n--) chunks.set(input.digest(), input.blob());
  if (!input.done) throw new FormatError(`journal record: trailing bytes at offset ${input.offset}`);
  return { delta, chunks };
}

function encodeRecord(record: JournalRecord): Buffer {
  const out = new ByteWriter();
  out.blob(encodeDelta(record.delta));
  out.uint(record.chunks.size);
  for (const [digest, bytes] of record.chunks) {
    out.digest(digest);
    out.blob(bytes);
  }
  const payload = out.finish();
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeBigUInt64LE(xxh64(payload), 8);
  frame.set(payload, HEADER);
  return frame;
}

/** Every blob the deltas reference (garbage collection keeps them alive). */
export function deltaDigests(delta: UpperDelta): Digest[] {
  const digests: Digest[] = [];
  for (const [, inode] of delta.entries) {
    if (inode.kind !== 'file') continue;
    for (const chunk of inode.data.patch.values()) digests.push(...chunkDigests(chunk));
  }
  return digests;
}

/**
 * Puts a carried chunk back into the store unless its blob is there whole: a crash may have lost
 * the blob file (written without its own fsync) or left it torn.
 */
export function restoreChunk(store: BlobStore, digest: Digest, bytes: Uint8Array): void {
  if (store.has(digest)) {
    try {
      if (Buffer.compare(store.get(digest), bytes) === 0) return;
    } catch {
      // Damaged: written again below.
    }
    store.delete(digest);
  }
  const stored = store.put(bytes);
  if (stored !== digest) throw new FormatError(`journal chunk ${digest} was stored as ${stored}`);
}

/** Past these, the next save is whole: a journal must stay quick to replay. */
const MAX_RECORDS = 1000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The journal of one open container, in the process that appends to it (the one holding the
 * container's lock). Its file is made by the first append, which the caller names in the record.
 */
export class JournalWriter {
  private fd: number | undefined;
  /** Chunks durable already (the base's, and those earlier records carried): not carried again. */
  private durable: Set<Digest> | undefined;

  constructor(
    readonly name: string,
    /** The upper blob the records apply to. */
    readonly base: Digest | null,
    readonly file: string,
    /** Whether the file exists (and the record names it). */
    private made: boolean,
    /** Bytes of valid records: a torn tail after them is written over. */
    private length = 0,
    private records = 0,
  ) {}

  get exists(): boolean {
    return this.made;
  }

  hasRoom(): boolean {
    return this.records < MAX_RECORDS && this.length < MAX_BYTES;
  }

  /**
   * Appends a delta with one fdatasync. The chunks written since the last save travel in the
   * record unless they are many; then their blobs are synced first. `nameFile` names a file the
   * first append made in the container's record.
   */
  append(delta: UpperDelta, store: BlobStore & { sync(): void }, durable: boolean, nameFile: (file: string) => void): void {
    if (delta.entries.length === 0 && delta.removed.length === 0) return;
    this.durable ??= new Set(this.base === null ? [] : upperDigests(store.get(this.base)));
    const fresh = freshChunks(delta, this.durable);
    let carried = 0;
    for (const digest of fresh) if ((carried += store.size(digest)) > INLINE_LIMIT) break;
    const chunks = new Map<Digest, Uint8Array>();
    if (carried <= INLINE_LIMIT) for (const digest of fresh) chunks.set(digest, store.get(digest));
    else store.sync();
    const frame = encodeRecord({ delta, chunks });
    if (!this.made) {
      writeFileAtomic(this.file, frame, { durable });
      try {
        nameFile(this.file);
      } catch (error) {
        removeFileDurably(this.file, false);
        throw error;
      }
      this.made = true;
    } else {
      if (this.fd === undefined) {
        this.fd = fs.openSync(this.file, 'r+');
        fs.ftruncateSync(this.fd, this.length);
      }
      fs.writeSync(this.fd, frame, 0, frame.length, this.length);
      if (durable) fs.fdatasyncSync(this.fd);
    }
    this.length += frame.length;
    this.records++;
    for (const digest of fresh) this.durable.add(digest);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The chunks a delta's files reference that are not durable yet (a lower file's own chunks are). */
function freshChunks(delta: UpperDelta, durable: ReadonlySet<Digest>): Set<Digest> {
  const fresh = new Set<Digest>();
  for (const [, inode] of delta.entries) {
    if (inode.kind !== 'file') continue;
    const { patch, base } = inode.data;
    for (const [index, chunk] of patch) {
      for (const digest of chunkDigests(chunk)) if (!durable.has(digest) && digest !== base[index]) fresh.add(digest);
    }
  }
  return fresh;
}
