import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BaseBlobStore, type BlobStoreOptions, type FileWriter, type StoreStats } from './blob-store.js';
import { type Content, storeFile } from './chunk.js';
import { type ChunkPlace, ChunkIndex } from './chunk-index.js';
import { type Digest, isDigest } from './digest.js';
import { BlobError } from './errors.js';
import { ObjectFiles } from './object-files.js';
import { type ChunkInFlight, ObjectWriter, objectKey } from './object-writer.js';
import { PendingSyncs, removeAbandoned, syncPath, tempPath, writeFileAtomic } from '../durable-file.js';

/**
 * Two places for bytes (docs/store-layout.md):
 *
 * - `<root>/blobs/<2 hex>/<digest>`: a blob as a file of its own (put): small files, layer
 *   encodings, saved upper layers, chunks written by containers. The only place older versions
 *   used, so their stores open as they are.
 * - `<root>/objects/<2 hex>/<key>`: a file's chunks end to end (fileWriter, used by imports), so
 *   the object is the file and the kernel can read it directly; `<root>/objects/index` says which
 *   chunks lie where (ChunkIndex).
 *
 * Each is written to a temporary file in `<root>/tmp`, then renamed into place: a crash leaves
 * either nothing or the whole file, never a torn one (in batch mode the fsyncs wait for `sync()`;
 * a blob torn by a power loss before it is referenced is found by its digest and rewritten by the
 * next put). Temporary names carry the process id and thread id, so several processes and worker
 * threads can share one store; those of dead writers are removed when the store is opened.
 */
export interface DirBlobStoreOptions extends BlobStoreOptions {
  /** fsync each blob and its folder (default true); off only for scratch stores and benchmarks. */
  durable?: boolean;
  /**
   * With `durable`, gather the fsyncs until `sync()` (default false). For a caller that writes
   * many blobs and then a record naming them (a save, an import): one sync before the record
   * gives the same guarantee as a sync per blob, for a fraction of the cost.
   */
  batch?: boolean;
}

export class DirBlobStore extends BaseBlobStore {
  readonly root: string;
  private readonly blobDir: string;
  private readonly objectDir: string;
  private readonly tmpDir: string;
  private readonly durable: boolean;
  /** In batch mode, the blob files and folders written since the last sync. */
  private readonly pending: PendingSyncs | undefined;
  private readonly recent = new Map<Digest, Uint8Array>();
  /** When a put last looked for other processes' index lines (readStored). */
  private lookedAt = -Infinity;
  private readonly index: ChunkIndex;
  private readonly objects: ObjectFiles;
  private readonly inFlight = new Map<Digest, ChunkInFlight>();
  /** Fan-out folders known to exist: a mkdir per blob would cost a system call each. */
  private readonly folders = new Set<string>();
  /** Loose chunks of imports go to packs where fsyncs wait for sync() (or are not wanted). */
  private readonly packs: boolean;
  private pack: { key: string; file: string; fd: number; size: number } | undefined;

  constructor(root: string, options?: DirBlobStoreOptions) {
    super(options);
    this.root = root;
    this.blobDir = path.join(root, 'blobs');
    this.objectDir = path.join(root, 'objects');
    this.tmpDir = path.join(root, 'tmp');
    this.durable = options?.durable ?? true;
    this.pending = this.durable && options?.batch ? new PendingSyncs() : undefined;
    this.packs = !this.durable || this.pending !== undefined;
    fs.mkdirSync(this.blobDir, { recursive: true });
    fs.mkdirSync(this.objectDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
    removeAbandoned(this.tmpDir);
    this.index = new ChunkIndex(path.join(this.objectDir, 'index'));
    this.objects = new ObjectFiles((key) => this.objectPath(key));
  }

  /** The file of a blob stored on its own (blobs/). */
  pathOf(digest: Digest): string {
    // The hash's first two hex digits fan blobs out over 256 folders.
    return `${this.blobDir}/${digest.slice(6, 8)}/xxh64-${digest.slice(6)}`;
  }

  /** Where a chunk's bytes lie: its own blob file, or a range of an object. */
  locate(digest: Digest): { file: string; offset: number; length: number } | undefined {
    const place = this.placeOf(digest);
    if (place) return { file: this.objectPath(place.object), offset: place.offset, length: place.length };
    const file = this.pathOf(digest);
    const size = statSize(file);
    return size === undefined ? undefined : { file, offset: 0, length: size };
  }

  has(digest: Digest): boolean {
    return this.placeOf(digest) !== undefined || this.inFlight.has(digest) || fs.existsSync(this.pathOf(digest));
  }

  size(digest: Digest): number {
    return this.placeOf(digest)?.length ?? statSize(this.pathOf(digest)) ?? 0;
  }

  delete(digest: Digest): void {
    this.recent.delete(digest);
    if (this.index.place(digest)) {
      const emptied = this.index.remove(digest);
      if (emptied !== undefined) this.deleteObject(emptied);
    }
    fs.rmSync(this.pathOf(digest), { force: true });
  }

  *digests(): Iterable<Digest> {
    for (const fan of fs.readdirSync(this.blobDir)) {
      for (const name of fs.readdirSync(path.join(this.blobDir, fan))) {
        const digest = name.replace('-', ':');
        if (isDigest(digest) && !this.index.place(digest)) yield digest;
      }
    }
    this.index.refresh();
    yield* [...this.index.digests()];
  }

  override stats(): StoreStats {
    // What the disk holds: blob files, and each object's data (a chunk repeated within a file is
    // in its object twice), not the chunks' lengths.
    const stats = super.stats();
    let storedBytes = 0;
    for (const digest of this.digests()) if (!this.index.place(digest)) storedBytes += this.size(digest);
    for (const key of this.index.objectKeys()) storedBytes += this.index.object(key)!.dataBytes;
    return { ...stats, storedBytes };
  }

  /**
   * The file holding exactly `content`'s bytes at their offsets: the object written for it, or
   * the blob file of a one-chunk file; undefined when its chunks lie apart (written by a
   * container, or deduplicated against another file), for the daemon to read chunk by chunk.
   */
  backingFile(content: Content): string | undefined {
    if (content.size === 0) return undefined;
    const key = objectKey(content);
    if (this.index.object(key) === undefined) this.index.refresh();
    if (this.index.object(key) !== undefined) return this.objectPath(key);
    const only = content.chunks[0];
    if (content.chunks.length !== 1 || !only || this.index.place(only)) return undefined;
    const file = this.pathOf(only);
    return statSize(file) === content.size ? file : undefined;
  }

  fileWriter(chunkSize: number, adopted?: string): FileWriter {
    return new ObjectWriter(
      {
        place: (bytes, store) => this.place(bytes, store),
        inFlight: this.inFlight,
        tempFile: () => tempPath(this.tmpDir),
        writeLoose: (digest, bytes) => (this.packs ? this.packChunk(digest, bytes) : this.writeRaw(digest, bytes)),
        publish: (tmp, key, size, dataBytes, chunks) => this.publishObject(tmp, key, size, dataBytes, chunks),
      },
      chunkSize,
      adopted,
    );
  }

  scratchFile(): string {
    return tempPath(this.tmpDir);
  }

  /**
   * Stores a scratch file's bytes by making the file itself their object (a whole-file one is
   * renamed into place, not copied); `fd`, if given, is open on it for reading.
   */
  adoptFile(file: string, chunkSize: number, fd?: number): Content {
    return storeFile(fd ?? file, chunkSize, this.fileWriter(chunkSize, file));
  }

  /**
   * Removes objects no chunk lives in any more, and object files no index record names (their
   * writer died before publishing), then rewrites the index with only what is live. Run by gc,
   * which holds the store exclusively: a writer's object between rename and index would be lost.
   */
  compact(): void {
    this.closePack();
    this.index.refresh();
    for (const key of [...this.index.objectKeys()]) if (this.index.object(key)!.liveChunks === 0) this.deleteObject(key);
    for (const fan of fs.readdirSync(this.objectDir)) {
      const folder = path.join(this.objectDir, fan);
      if (!fs.statSync(folder).isDirectory()) continue;
      for (const key of fs.readdirSync(folder)) {
        if (this.index.object(key) === undefined) fs.rmSync(path.join(folder, key), { force: true });
      }
    }
    this.index.compact(this.durable);
  }

  protected readRaw(digest: Digest, look = true): Uint8Array | undefined {
    const place = this.placeOf(digest, look) ?? this.inFlight.get(digest);
    if (place && 'bytes' in place) return place.bytes;
    if (place) {
      const bytes = Buffer.allocUnsafe(place.length);
      const got = this.readPlace(place, bytes, 0);
      return got === place.length ? bytes : bytes.subarray(0, got);
    }
    const file = this.pathOf(digest);
    // Most probes of an import miss: a failed open throws, which costs more than asking first.
    if (!fs.existsSync(file)) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * A put's lookup: what other processes published is looked at once per INDEX_LOOK_MS, not on
   * every miss (an import misses on nearly every chunk, and each look is a stat of the index). A
   * chunk another process stored meanwhile is stored again; the index then names the later copy
   * and gc reclaims the other (ChunkIndex.apply).
   */
  protected override readStored(digest: Digest): Uint8Array | undefined {
    const now = performance.now();
    if (now - this.lookedAt < INDEX_LOOK_MS) return this.readRaw(digest, false);
    this.lookedAt = now;
    return this.readRaw(digest);
  }

  /** The chunk's place in an object, looking at what other processes published when unknown (and `look`). */
  private placeOf(digest: Digest, look = true): ChunkPlace | undefined {
    const place = this.index.place(digest);
    if (place || this.inFlight.has(digest) || !look) return place;
    this.index.refresh();
    return this.index.place(digest);
  }

  /** Reads a chunk from its object (or an object being written) into `target`: the bytes read. */
  private readPlace(place: ChunkPlace | { fd: number; offset: number; length: number }, target: Uint8Array, at: number): number {
    const fd = 'fd' in place ? place.fd : this.objects.fd(place.object);
    if (fd === undefined) return 0;
    let got = 0;
    for (let read = -1; read !== 0 && got < place.length; got += read) read = fs.readSync(fd, target, at + got, place.length - got, place.offset + got);
    return got;
  }

  private objectPath(key: string): string {
    return `${this.objectDir}/${key.slice(0, 2)}/${key}`;
  }

  private publishObject(tmp: string, key: string, size: number, dataBytes: number, chunks: { digest: Digest; offset: number; length: number }[]): boolean {
    this.index.refresh();
    // The same content, published meanwhile by another writer: its object holds these very chunks.
    if (this.index.object(key) !== undefined) return false;
    const target = this.objectPath(key);
    this.ensureFolder(path.dirname(target));
    if (this.durable && !this.pending) syncPath(tmp);
    fs.renameSync(tmp, target);
    if (this.durable && !this.pending) syncPath(path.dirname(target));
    this.pending?.add(target);
    this.index.publish(key, size, dataBytes, chunks);
    if (this.durable && !this.pending) syncPath(path.join(this.objectDir, 'index'));
    this.pending?.add(path.join(this.objectDir, 'index'));
    return true;
  }

  /**
   * Appends a chunk to this store's pack (one file for many small chunks: creating a file per
   * small file is what an import spends most of its time on) and indexes it at once, so other
   * processes read it and a crash loses nothing indexed. Packs rotate at PACK_BYTES.
   */
  private packChunk(digest: Digest, bytes: Uint8Array): void {
    if (this.pack && this.pack.size + bytes.length > PACK_BYTES) this.closePack();
    if (!this.pack) {
      const key = `pack-${randomBytes(16).toString('hex')}`;
      const file = this.objectPath(key);
      this.ensureFolder(path.dirname(file));
      this.pack = { key, file, fd: fs.openSync(file, 'wx', 0o444), size: 0 };
    }
    const pack = this.pack;
    const offset = pack.size;
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(pack.fd, bytes, at, bytes.length - at, offset + at);
    pack.size += bytes.length;
    // Its bytes are written before the index names them; sync() makes both durable together.
    this.index.publish(pack.key, pack.size, pack.size, [{ digest, offset, length: bytes.length }]);
    this.pending?.add(pack.file);
    this.pending?.add(path.join(this.objectDir, 'index'));
  }

  private closePack(): void {
    if (!this.pack) return;
    fs.closeSync(this.pack.fd);
    this.pack = undefined;
  }

  private deleteObject(key: string): void {
    if (this.pack?.key === key) this.closePack();
    this.objects.close(key);
    fs.rmSync(this.objectPath(key), { force: true });
    this.index.removeObject(key);
  }

  private ensureFolder(folder: string): void {
    if (this.folders.has(folder)) return;
    fs.mkdirSync(folder, { recursive: true });
    this.folders.add(folder);
  }

  /**
   * A blob read whole and verified a moment ago: a reader taking a chunk in parts (the kernel's
   * read-ahead windows need not fall on chunk boundaries) reads and hashes it once.
   */
  override get(digest: Digest): Uint8Array {
    const recent = this.recent.get(digest);
    if (recent) return recent;
    const bytes = super.get(digest);
    this.recent.set(digest, bytes);
    if (this.recent.size > RECENT_BLOBS) this.recent.delete(this.recent.keys().next().value!);
    return bytes;
  }

  override readInto(digest: Digest, target: Uint8Array, offset: number, room: number): number {
    const place = this.placeOf(digest);
    if (place) {
      if (place.length > room) return -1;
      const got = this.readPlace(place, target, offset);
      if (got !== place.length || !this.matches(digest, target.subarray(offset, offset + got))) throw new BlobError(digest, 'corrupt');
      return got;
    }
    let fd: number;
    try {
      fd = fs.openSync(this.pathOf(digest), 'r');
    } catch (error) {
      if (isMissing(error)) throw new BlobError(digest, 'missing');
      throw error;
    }
    let length = 0;
    try {
      // One byte more than the room where the target has it: a blob larger than the room is seen
      // without a read more (the caller then reads it whole; the byte is overwritten later).
      const want = Math.min(room + 1, target.length - offset);
      for (let got = -1; got !== 0 && length < want; length += got) got = fs.readSync(fd, target, offset + length, want - length, length);
      if (length > room || (length === room && want === room && fs.readSync(fd, ONE_BYTE, 0, 1, room) !== 0)) return -1;
    } finally {
      fs.closeSync(fd);
    }
    if (!this.matches(digest, target.subarray(offset, offset + length))) throw new BlobError(digest, 'corrupt');
    return length;
  }

  protected writeRaw(digest: Digest, bytes: Uint8Array): void {
    // A copy in an object that went bad is stored again here: the index must stop pointing at it.
    if (this.index.place(digest)) this.delete(digest);
    const target = this.pathOf(digest);
    this.ensureFolder(path.dirname(target));
    writeFileAtomic(target, bytes, { durable: this.durable, pending: this.pending, tempDir: this.tmpDir });
  }

  protected override reused(digest: Digest): void {
    // Another process may have written it in batch mode and not synced yet: our record will name
    // it, so our sync must cover it.
    if (!this.pending) return;
    const place = this.index.place(digest);
    if (place) {
      this.pending.add(this.objectPath(place.object));
      this.pending.add(path.join(this.objectDir, 'index'));
    } else if (!this.inFlight.has(digest)) {
      this.pending.add(this.pathOf(digest));
    }
  }

  /** Makes every blob written so far durable (a no-op unless `batch` deferred some fsyncs). */
  sync(): void {
    this.pending?.sync();
  }
}

const ONE_BYTE = new Uint8Array(1);
/** How often a put looks for chunks other processes indexed (see readStored). */
const INDEX_LOOK_MS = 50;
/** A pack is closed and a new one started past this size. */
const PACK_BYTES = 256 * 1024 * 1024;
/** Blobs kept by get() for a reader that comes back for the rest of a chunk. */
const RECENT_BLOBS = 8;

/** A file's size, or undefined when it is missing. */
function statSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
