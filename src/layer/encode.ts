import { type Content, type Digest, chunkCount } from '../store/index.js';
import { ByteReader, ByteWriter, FormatError } from './codec.js';
import { type Inode, type Kind, type Meta, NO_XATTRS, ROOT, WHITEOUT, invalidName } from './inode.js';

/**
 * The canonical layer encoding. Inodes are numbered in depth-first order from the root with
 * children sorted by name, so the same tree always gives the same bytes, whatever order it was
 * built in; the layer id is the digest of these bytes.
 *
 *   "LFSL" version:u8 count:uint inode*
 *   inode = kind:u8 mode uid gid atime mtime ctime xattrs body
 *   file  = size chunkSize chunk*   (chunk = 0 holes:uint | 1 hash:u64 collision:uint)
 *   dir   = opaque:u8 count (name:string ino:uint)*   (ino 0 is a whiteout)
 */
const MAGIC = Buffer.from('LFSL');
const VERSION = 1;
const MAX_CHUNKS = 2 ** 26;
export const KINDS: readonly Kind[] = ['file', 'dir', 'symlink', 'chardev', 'blockdev', 'fifo', 'socket'];

/**
 * Encodes inodes numbered 1..n (index 0 unused), root first, in canonical order. It refuses what
 * decodeLayer would reject, so a stored layer can always be loaded again.
 */
export function encodeLayer(inodes: readonly (Inode | undefined)[]): Uint8Array {
  const out = new ByteWriter();
  out.bytes(MAGIC);
  out.byte(VERSION);
  out.uint(inodes.length - 1);
  for (let ino = 1; ino < inodes.length; ino++) {
    const inode = inodes[ino];
    if (!inode) throw new Error(`inode ${ino} missing from layer`);
    out.byte(KINDS.indexOf(inode.kind));
    if (!Number.isInteger(inode.mode) || inode.mode < 0 || inode.mode > 0o7777) {
      throw new Error(`inode ${ino}: mode ${inode.mode.toString(8)} is not permission bits (the kind carries the type)`);
    }
    writeMeta(out, inode);
    switch (inode.kind) {
      case 'file':
        writeContent(out, inode.content);
        break;
      case 'dir':
        out.byte(inode.opaque ? 1 : 0);
        out.uint(inode.children.size);
        for (const name of [...inode.children.keys()].sort()) {
          const problem = invalidName(name);
          if (problem) throw new Error(`inode ${ino}: ${problem}`);
          out.string(name);
          out.uint(inode.children.get(name)!);
        }
        break;
      case 'symlink':
        if (inode.target.includes('\0')) throw new Error(`inode ${ino}: symlink target contains NUL`);
        out.string(inode.target);
        break;
      case 'chardev':
      case 'blockdev':
        out.uint(inode.rdev);
        break;
    }
  }
  return out.finish();
}

export function writeMeta(out: ByteWriter, meta: Meta): void {
  out.uint(meta.mode);
  out.uint(meta.uid);
  out.uint(meta.gid);
  out.bigint(meta.atime);
  out.bigint(meta.mtime);
  out.bigint(meta.ctime);
  out.uint(meta.xattrs.size);
  for (const name of [...meta.xattrs.keys()].sort()) {
    out.string(name);
    out.blob(meta.xattrs.get(name)!);
  }
}

function writeContent(out: ByteWriter, content: Content): void {
  out.uint(content.size);
  out.uint(content.chunkSize);
  const { chunks } = content;
  // Chunks missing at the end read as holes (readChunk), so they are written as holes: the decoder
  // expects exactly one entry per chunk slot.
  const total = chunkCount(content.size, content.chunkSize);
  if (content.chunkSize < 1 || chunks.length > total) {
    throw new Error(`content of ${content.size} bytes in chunks of ${content.chunkSize} cannot have ${chunks.length} chunks`);
  }
  for (let i = 0; i < total; ) {
    const digest = chunks[i];
    if (digest === null || digest === undefined) {
      let run = 0;
      while (i + run < total && (chunks[i + run] ?? null) === null) run++;
      i += run;
      out.byte(0);
      out.uint(run);
    } else {
      out.byte(1);
      out.digest(digest);
      i++;
    }
  }
}

/** Decodes and validates a layer: anything malformed is a FormatError saying what and where. */
export function decodeLayer(bytes: Uint8Array): (Inode | undefined)[] {
  const input = new ByteReader(bytes);
  if (bytes.length < 5 || Buffer.compare(input.bytes(4), MAGIC) !== 0) throw new FormatError('not a layerfs layer (bad magic)');
  const version = input.byte();
  if (version !== VERSION) throw new FormatError(`unsupported layer version ${version} (this build reads ${VERSION})`);
  const count = input.uint();
  if (count < 1) throw new FormatError('layer has no root directory');
  // Every inode takes at least 8 bytes: a hostile count cannot make us allocate more than that.
  if (count > bytes.length) throw new FormatError(`inode count ${count} exceeds the layer's size`);
  const inodes: (Inode | undefined)[] = [undefined];
  for (let ino = 1; ino <= count; ino++) inodes.push(readInode(input, ino, count));
  if (!input.done) throw new FormatError(`trailing bytes at offset ${input.offset}`);
  checkTree(inodes);
  return inodes;
}

function readInode(input: ByteReader, ino: number, count: number): Inode {
  const kind = KINDS[input.byte()];
  if (!kind) throw new FormatError(`inode ${ino}: unknown kind`);
  const meta = readMeta(input, ino);
  switch (kind) {
    case 'file':
      return { kind, ...meta, content: readContent(input, ino) };
    case 'dir': {
      const flag = input.byte();
      if (flag > 1) throw new FormatError(`inode ${ino}: opaque flag ${flag}`);
      const opaque = flag === 1;
      const size = input.uint();
      const children = new Map<string, number>();
      let previous: string | undefined;
      for (let i = 0; i < size; i++) {
        const name = input.string();
        const problem = invalidName(name);
        if (problem) throw new FormatError(`inode ${ino}: ${problem}`);
        if (previous !== undefined && !(previous < name)) throw new FormatError(`inode ${ino}: entries not in canonical order at ${JSON.stringify(name)}`);
        const child = input.uint();
        if (child > count || child === ROOT) throw new FormatError(`inode ${ino}: entry ${JSON.stringify(name)} points to inode ${child}`);
        children.set(name, child);
        previous = name;
      }
      return { kind, ...meta, opaque, children };
    }
    case 'symlink': {
      const target = input.string();
      if (target.includes('\0')) throw new FormatError(`inode ${ino}: symlink target contains NUL`);
      return { kind, ...meta, target };
    }
    case 'chardev':
    case 'blockdev':
      return { kind, ...meta, rdev: input.uint() };
    default:
      return { kind, ...meta };
  }
}

export function readMeta(input: ByteReader, ino: number): Meta {
  const mode = input.uint();
  if (mode > 0o7777) throw new FormatError(`inode ${ino}: mode ${mode.toString(8)} has type bits`);
  const uid = input.uint();
  const gid = input.uint();
  const atime = input.bigint();
  const mtime = input.bigint();
  const ctime = input.bigint();
  const count = input.uint();
  let xattrs: ReadonlyMap<string, Uint8Array> = NO_XATTRS;
  if (count > 0) {
    const map = new Map<string, Uint8Array>();
    let previous: string | undefined;
    for (let i = 0; i < count; i++) {
      const name = input.string();
      // Sorted and unique, as encoded: a repeated name would otherwise silently drop a value.
      if (previous !== undefined && !(previous < name)) throw new FormatError(`inode ${ino}: xattrs not in canonical order at ${JSON.stringify(name)}`);
      map.set(name, Uint8Array.prototype.slice.call(input.blob()));
      previous = name;
    }
    xattrs = map;
  }
  return { mode, uid, gid, atime, mtime, ctime, xattrs };
}

function readContent(input: ByteReader, ino: number): Content {
  const size = input.uint();
  const chunkSize = input.uint();
  if (chunkSize === 0) throw new FormatError(`inode ${ino}: chunk size 0`);
  const total = Math.ceil(size / chunkSize);
  // Holes cost a byte per run, so a hostile size could ask for a chunk list far larger than the
  // layer; no real file needs more than MAX_CHUNKS (4 TiB at 64 KiB chunks).
  if (total > MAX_CHUNKS) throw new FormatError(`inode ${ino}: ${total} chunks is more than ${MAX_CHUNKS}`);
  const chunks: (Digest | null)[] = [];
  while (chunks.length < total) {
    const tag = input.byte();
    if (tag === 0) {
      const run = input.uint();
      if (run === 0 || chunks.length + run > total) throw new FormatError(`inode ${ino}: bad hole run`);
      for (let i = 0; i < run; i++) chunks.push(null);
    } else if (tag === 1) {
      chunks.push(input.digest());
    } else {
      throw new FormatError(`inode ${ino}: bad chunk tag ${tag}`);
    }
  }
  return { size, chunkSize, chunks };
}

/** The root is a directory; every other directory has exactly one parent; every inode is reachable. */
function checkTree(inodes: readonly (Inode | undefined)[]): void {
  if (inodes[ROOT]?.kind !== 'dir') throw new FormatError('layer root is not a directory');
  const parents = new Uint32Array(inodes.length);
  for (let ino = 1; ino < inodes.length; ino++) {
    const inode = inodes[ino]!;
    if (inode.kind !== 'dir') continue;
    for (const [name, child] of inode.children) {
      if (child === WHITEOUT) continue;
      if (inodes[child]!.kind === 'dir' && parents[child] !== 0) {
        throw new FormatError(`directory inode ${child} has more than one name (at ${JSON.stringify(name)})`);
      }
      parents[child] = 1;
    }
  }
  const seen = new Uint8Array(inodes.length);
  const stack = [ROOT];
  seen[ROOT] = 1;
  while (stack.length > 0) {
    const inode = inodes[stack.pop()!]!;
    if (inode.kind !== 'dir') continue;
    for (const child of inode.children.values()) {
      if (child === WHITEOUT || seen[child]) continue;
      seen[child] = 1;
      stack.push(child);
    }
  }
  const lost = seen.indexOf(0, 1);
  if (lost !== -1) throw new FormatError(`inode ${lost} is not reachable from the root`);
}
