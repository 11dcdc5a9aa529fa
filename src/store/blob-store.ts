import { type Digest, type HashFn, toDigest, xxh64 } from './digest.js';
import type { Content } from './chunk.js';
import { BlobError } from './errors.js';

export interface StoreStats {
  /** Distinct blobs held. */
  blobs: number;
  /** Bytes the blobs occupy (payload only). */
  storedBytes: number;
  /** Bytes handed to `put` since the store was opened, duplicates included. */
  logicalBytes: number;
  /** logicalBytes / bytes newly stored by those puts; 1 when nothing was deduplicated. */
  dedupRatio: number;
}

/**
 * Content-addressed bytes. `put` returns the digest under which the bytes can be read back; a
 * digest hit is confirmed by comparing bytes, so two different contents never share a digest.
 * `get` verifies the bytes against the digest and throws BlobError rather than return wrong data.
 */
export interface BlobStore {
  has(digest: Digest): boolean;
  /** The bytes may be the store's own copy (MemoryBlobStore): copy them before changing them. */
  get(digest: Digest): Uint8Array;
  /**
   * Reads a whole blob, verified, into `target` at `offset` if it is at most `room` bytes: its
   * length, or -1 (target untouched) if it is larger. Spares a reader that copies blobs into a
   * buffer of its own an allocation and a copy.
   */
  readInto(digest: Digest, target: Uint8Array, offset: number, room: number): number;
  put(bytes: Uint8Array): Digest;
  delete(digest: Digest): void;
  digests(): Iterable<Digest>;
  /** Size of a stored blob without reading it. */
  size(digest: Digest): number;
  stats(): StoreStats;
  /**
   * Optional (DirBlobStore): a writer that lays one file's chunks end to end in one backing file,
   * so the kernel can read the file directly (FUSE passthrough). Its digests are put()'s.
   */
  fileWriter?(chunkSize: number): FileWriter;
  /**
   * Optional (DirBlobStore): a new name for a scratch file on the store's file system, for
   * adoptFile; left by a process that died, it is removed when the store is opened.
   */
  scratchFile?(): string;
  /** Optional (DirBlobStore): stores a scratch file's bytes, taking the file (it is gone after); `fd` may be open on it for reading. */
  adoptFile?(file: string, chunkSize: number, fd?: number): Content;
  /** Optional: a file of the store holding exactly `content`'s bytes at their offsets, if there is one. */
  backingFile?(content: Content): string | undefined;
  /** Optional: after deletions, reclaims what nothing uses any more (run by gc, with no writer about). */
  compact?(): void;
  /**
   * Optional (a lazily pulled image's store): undefined when each of `digests` can be read at
   * once, else a promise that settles when they can, for a reader that can serve others while it
   * waits (the FUSE daemon) rather than block its thread in get().
   */
  ready?(digests: Iterable<Digest>): Promise<void> | undefined;
  /** Optional: the blob is not here but is fetched on first read (not lost: verify does not count it). */
  fetchable?(digest: Digest): boolean;
}

/** One file's chunks in order, from the first; finish() publishes them, abort() drops them. */
export interface FileWriter {
  /** Stores the next chunk: its digest, or null for a chunk of zeros (a hole). */
  put(bytes: Uint8Array): Digest | null;
  /** The file is complete at `size` bytes (the last chunk may be short): make it readable. */
  finish(size: number): void;
  abort(): void;
}

export interface BlobStoreOptions {
  /** The 64-bit hash behind digests (xxh64); tests inject a colliding one. */
  hash?: HashFn;
}

/** The digest/collision/verification rules every back end shares; back ends supply raw I/O. */
export abstract class BaseBlobStore implements BlobStore {
  protected readonly hash: HashFn;
  private logicalBytes = 0;
  private newBytes = 0;
  /**
   * Buffers already checked against their digest. The memory store hands out the very buffer it
   * holds, so each blob is hashed on its first read only; a back end that reads a fresh buffer
   * every time (the directory store) is checked on every read.
   */
  private readonly verified = new WeakSet<Uint8Array>();

  constructor(options: BlobStoreOptions = {}) {
    this.hash = options.hash ?? xxh64;
  }

  protected abstract readRaw(digest: Digest): Uint8Array | undefined;
  /**
   * readRaw for a put's question "is it stored already?": a back end may answer from a view of
   * other processes' writes a moment old, as a miss there costs a second copy, not wrong bytes.
   */
  protected readStored(digest: Digest): Uint8Array | undefined {
    return this.readRaw(digest);
  }
  protected abstract writeRaw(digest: Digest, bytes: Uint8Array): void;
  /** A put found its bytes already stored (perhaps by another process, not yet made durable). */
  protected reused(_digest: Digest): void {}
  abstract has(digest: Digest): boolean;
  abstract delete(digest: Digest): void;
  abstract digests(): Iterable<Digest>;
  abstract size(digest: Digest): number;

  get(digest: Digest): Uint8Array {
    const bytes = this.readRaw(digest);
    if (bytes === undefined) throw new BlobError(digest, 'missing');
    if (this.verified.has(bytes)) return bytes;
    if (!this.matches(digest, bytes)) throw new BlobError(digest, 'corrupt');
    this.verified.add(bytes);
    return bytes;
  }

  readInto(digest: Digest, target: Uint8Array, offset: number, room: number): number {
    const bytes = this.get(digest);
    if (bytes.length > room) return -1;
    target.set(bytes, offset);
    return bytes.length;
  }

  put(bytes: Uint8Array): Digest {
    return this.place(bytes, (digest) => this.writeRaw(digest, bytes)).digest;
  }

  /**
   * Finds the digest of `bytes` and calls `store` with it when they are not stored yet (`stored`
   * false: they were). The rules of put, shared with writers that keep bytes elsewhere.
   */
  protected place(bytes: Uint8Array, store: (digest: Digest) => void): { digest: Digest; stored: boolean } {
    this.logicalBytes += bytes.length;
    const hash = this.hash(bytes);
    for (let collision = 0; ; collision++) {
      const digest = toDigest(hash, collision);
      const existing = this.readStored(digest);
      if (existing === undefined) {
        store(digest);
        this.newBytes += bytes.length;
        return { digest, stored: true };
      }
      // Trust bytes, not hashes: a hit with other bytes is a collision and takes the next suffix.
      // A stored copy that is itself corrupt is rewritten rather than trusted.
      if (Buffer.compare(existing, bytes) === 0) {
        this.reused(digest);
        return { digest, stored: false };
      }
      if (!this.matches(digest, existing)) {
        store(digest);
        return { digest, stored: true };
      }
    }
  }

  /** Rehashes one blob: true when present and intact. */
  verify(digest: Digest): boolean {
    const bytes = this.readRaw(digest);
    return bytes !== undefined && this.matches(digest, bytes);
  }

  stats(): StoreStats {
    let blobs = 0;
    let storedBytes = 0;
    for (const digest of this.digests()) {
      blobs++;
      storedBytes += this.size(digest);
    }
    const dedupRatio = this.newBytes === 0 ? 1 : this.logicalBytes / this.newBytes;
    return { blobs, storedBytes, logicalBytes: this.logicalBytes, dedupRatio };
  }

  protected matches(digest: Digest, bytes: Uint8Array): boolean {
    // The collision suffix (`~N`, after the 22 characters) only disambiguates; the hash part must
    // still match the bytes.
    const hashed = toDigest(this.hash(bytes));
    return digest.startsWith(hashed) && (digest.length === hashed.length || digest[hashed.length] === '~');
  }
}
