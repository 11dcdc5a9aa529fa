import { ByteReader, ByteWriter, FormatError } from '../layer/codec.js';
import { KINDS, readMeta, writeMeta } from '../layer/encode.js';
import type { Digest } from '../store/index.js';
import type { Chunk, FileData } from '../union/file-data.js';
import type { Image } from '../union/image.js';
import type { UpperInode } from '../union/upper.js';

/**
 * A container's upper layer as bytes, so it can be kept in a store and loaded again. A copied-up
 * file is written as its lower origin plus its chunk patch, never as the full chunk list: a 4 KiB
 * write into a 1 GiB file costs a few bytes here.
 *
 *   "LFSU" version:u8 nextIno:uint count:uint (ino:uint kind:u8 meta nlink:uint body)*
 *   file    = size chunkSize origin baseLimit count (index:uint chunk)*
 *   chunk   = 0 (hole) | 1 hash:u64 collision:uint | 2 under:chunk offset:uint bytes:chunk (a delta)
 *   dir     = flags:u8 count lower* count (name:string ino:uint)*
 *   symlink = target:string;  special = rdev:uint
 *
 * A directory's flags: 1 opaque; 2 (in a delta only) its names are edits of the names saved
 * before, each name's inode plus one, 0 for a name taken out (WHITEOUT is inode 0).
 */
const MAGIC = Buffer.from('LFSU');
const VERSION = 1;

const OPAQUE = 1;
const EDITS = 2;

/** The names of a directory that changed since a save: each one's inode, WHITEOUT, or undefined (taken out). */
export type DirEdits = Map<string, number | undefined>;

/**
 * `edited` (a journal's delta) writes those directories as their changed names alone, and
 * nothing is sorted; otherwise inodes and names are sorted, so an unchanged upper layer encodes
 * to the same blob.
 */
export function encodeUpper(entries: Iterable<[number, UpperInode]>, nextIno: number, edited?: ReadonlyMap<number, DirEdits>): Uint8Array {
  const canonical = edited === undefined;
  const sorted = canonical ? [...entries].sort(([a], [b]) => a - b) : [...entries];
  const out = new ByteWriter();
  out.bytes(MAGIC);
  out.byte(VERSION);
  out.uint(nextIno);
  out.uint(sorted.length);
  for (const [ino, inode] of sorted) {
    out.uint(ino);
    out.byte(KINDS.indexOf(inode.kind));
    writeMeta(out, inode);
    out.uint(inode.nlink);
    switch (inode.kind) {
      case 'file':
        writeFileData(out, inode.data);
        break;
      case 'dir': {
        const edits = edited?.get(ino);
        out.byte((inode.opaque ? OPAQUE : 0) | (edits ? EDITS : 0));
        out.uint(inode.lowers.length);
        for (const lower of inode.lowers) out.uint(lower);
        if (edits) {
          out.uint(edits.size);
          for (const [name, child] of edits) {
            out.string(name);
            out.uint(child === undefined ? 0 : child + 1);
          }
          break;
        }
        out.uint(inode.entries.size);
        for (const [name, child] of canonical ? [...inode.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : inode.entries) {
          out.string(name);
          out.uint(child);
        }
        break;
      }
      case 'symlink':
        out.string(inode.target);
        break;
      default:
        out.uint(inode.rdev);
    }
  }
  return out.finish();
}

function writeFileData(out: ByteWriter, data: FileData): void {
  out.uint(data.size);
  out.uint(data.chunkSize);
  out.uint(data.origin);
  out.uint(data.baseLimit);
  out.uint(data.patch.size);
  for (const [index, chunk] of [...data.patch].sort(([a], [b]) => a - b)) {
    out.uint(index);
    if (chunk === null || typeof chunk === 'string') {
      writeChunk(out, chunk);
    } else if (chunk.kind === 'delta') {
      out.byte(2);
      writeChunk(out, chunk.under);
      out.uint(chunk.offset);
      writeChunk(out, chunk.bytes);
    } else {
      throw new Error('flush the container before encoding its upper layer');
    }
  }
}

function writeChunk(out: ByteWriter, digest: Digest | null): void {
  if (digest === null) {
    out.byte(0);
    return;
  }
  out.byte(1);
  out.digest(digest);
}

function readChunk(input: ByteReader, ino: number): Chunk {
  const tag = input.byte();
  if (tag === 0) return null;
  if (tag === 1) return input.digest();
  if (tag === 2) {
    const under = readChunk(input, ino);
    const offset = input.uint();
    const bytes = readChunk(input, ino);
    if (typeof under === 'object' && under !== null) throw new FormatError(`inode ${ino}: delta over a delta`);
    if (typeof bytes !== 'string') throw new FormatError(`inode ${ino}: delta without bytes`);
    return { kind: 'delta', under, offset, bytes };
  }
  throw new FormatError(`inode ${ino}: bad chunk tag ${tag}`);
}

/**
 * Decodes an upper layer for `image`; a file's origin must be a file of that image. Without an
 * image, origins are not checked and files have no base chunks: enough to list what the upper
 * itself references, even when a layer below is damaged.
 */
export function decodeUpper(bytes: Uint8Array, image: Image | undefined): { entries: [number, UpperInode][]; nextIno: number; edited: Map<number, DirEdits> } {
  const input = new ByteReader(bytes);
  if (bytes.length < 5 || Buffer.compare(input.bytes(4), MAGIC) !== 0) throw new FormatError('not a layerfs upper layer (bad magic)');
  const version = input.byte();
  if (version !== VERSION) throw new FormatError(`unsupported upper layer version ${version}`);
  const nextIno = input.uint();
  const count = input.uint();
  if (count > bytes.length) throw new FormatError(`inode count ${count} exceeds the upper layer's size`);
  const entries: [number, UpperInode][] = [];
  const edited = new Map<number, DirEdits>();
  for (let i = 0; i < count; i++) {
    const ino = input.uint();
    if (ino >= nextIno) throw new FormatError(`inode ${ino} is not below nextIno ${nextIno}`);
    const kind = KINDS[input.byte()];
    if (!kind) throw new FormatError(`inode ${ino}: unknown kind`);
    const meta = readMeta(input, ino);
    const upperMeta = { ...meta, xattrs: new Map(meta.xattrs), nlink: input.uint() };
    switch (kind) {
      case 'file':
        entries.push([ino, { kind, ...upperMeta, data: readFileData(input, ino, image) }]);
        break;
      case 'dir': {
        const flags = input.byte();
        const lowers = Array.from({ length: input.uint() }, () => input.uint());
        const entryMap = new Map<string, number>();
        if (flags & EDITS) {
          const edits: DirEdits = new Map();
          for (let n = input.uint(); n > 0; n--) {
            const name = input.string();
            const child = input.uint();
            edits.set(name, child === 0 ? undefined : child - 1);
          }
          edited.set(ino, edits);
        } else {
          for (let n = input.uint(); n > 0; n--) entryMap.set(input.string(), input.uint());
        }
        entries.push([ino, { kind, ...upperMeta, opaque: (flags & OPAQUE) !== 0, lowers, entries: entryMap }]);
        break;
      }
      case 'symlink':
        entries.push([ino, { kind, ...upperMeta, target: input.string() }]);
        break;
      default:
        entries.push([ino, { kind, ...upperMeta, rdev: input.uint() }]);
    }
  }
  if (!input.done) throw new FormatError(`trailing bytes at offset ${input.offset}`);
  return { entries, nextIno, edited };
}

function readFileData(input: ByteReader, ino: number, image: Image | undefined): FileData {
  const size = input.uint();
  const chunkSize = input.uint();
  const origin = input.uint();
  const baseLimit = input.uint();
  if (chunkSize === 0) throw new FormatError(`inode ${ino}: chunk size 0`);
  let base: readonly (Digest | null)[] = [];
  if (origin !== 0 && image) {
    const lower = image.inode(origin);
    if (lower?.kind !== 'file') throw new FormatError(`inode ${ino}: origin ${origin} is not a file of this image`);
    base = lower.content.chunks;
  }
  const patch = new Map<number, Chunk>();
  for (let n = input.uint(); n > 0; n--) {
    const index = input.uint();
    patch.set(index, readChunk(input, ino));
  }
  return { size, chunkSize, origin, base, baseLimit: Math.min(baseLimit, base.length), patch, dirtyBytes: 0 };
}

/**
 * Every blob a saved upper layer references: its changed chunks and the parts of its deltas (the
 * base chunks of copied-up files belong to the image's layers). The upper's own blob is not
 * included. Garbage collection keeps these alive.
 */
export function upperDigests(bytes: Uint8Array): Set<Digest> {
  return upperReferences(bytes).digests;
}

/** upperDigests, plus the bytes of the files the upper holds (the container's own logical size). */
export function upperReferences(bytes: Uint8Array): { digests: Set<Digest>; fileBytes: number } {
  const digests = new Set<Digest>();
  let fileBytes = 0;
  for (const [, inode] of decodeUpper(bytes, undefined).entries) {
    if (inode.kind !== 'file') continue;
    fileBytes += inode.data.size;
    for (const chunk of inode.data.patch.values()) for (const digest of chunkDigests(chunk)) digests.add(digest);
  }
  return { digests, fileBytes };
}

/**
 * What changed in an upper layer since a save: the inodes to write again (whole), the inodes gone,
 * and the next free inode number. Applied in order on top of a saved upper layer.
 */
export interface UpperDelta {
  entries: [number, UpperInode][];
  removed: number[];
  nextIno: number;
  /**
   * Directories among `entries` that were saved before and carry only their changed names (an
   * fsync in a directory of thousands of new files must not write them all again).
   */
  edited: Map<number, DirEdits>;
}

/** A delta as bytes: the removed inodes, then the changed ones in the upper layer's own encoding. */
export function encodeDelta(delta: UpperDelta): Uint8Array {
  const out = new ByteWriter();
  out.uint(delta.removed.length);
  for (const ino of delta.removed) out.uint(ino);
  out.blob(encodeUpper(delta.entries, delta.nextIno, delta.edited));
  return out.finish();
}

export function decodeDelta(bytes: Uint8Array, image: Image | undefined): UpperDelta {
  const input = new ByteReader(bytes);
  const count = input.uint();
  if (count > bytes.length) throw new FormatError(`removed inode count ${count} exceeds the delta's size`);
  const removed = Array.from({ length: count }, () => input.uint());
  const { entries, nextIno, edited } = decodeUpper(input.blob(), image);
  if (!input.done) throw new FormatError(`trailing bytes at offset ${input.offset}`);
  return { entries, removed, nextIno, edited };
}

/** The blobs a chunk references: its digest, or a delta's parts. */
export function chunkDigests(chunk: Chunk): Digest[] {
  if (typeof chunk === 'string') return [chunk];
  if (chunk === null || chunk.kind !== 'delta') return [];
  return chunk.under === null ? [chunk.bytes] : [chunk.under, chunk.bytes];
}
