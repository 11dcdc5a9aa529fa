import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { FileWriter } from './blob-store.js';
import { type Content, isAllZero } from './chunk.js';
import type { Digest } from './digest.js';
import { removeFile } from '../durable-file.js';

/** A chunk stored by a writer that has not published it yet: in an object being written, or held in memory. */
export type ChunkInFlight = { readonly fd: number; readonly offset: number; readonly length: number } | { readonly bytes: Uint8Array };

/** What an ObjectWriter needs of its directory store. */
export interface ObjectHost {
  /** put()'s rules: `store` runs when the bytes are new (`stored` true). */
  place(bytes: Uint8Array, store: (digest: Digest) => void): { digest: Digest; stored: boolean };
  /** Chunks of writers not published yet, readable (and deduplicated against) meanwhile. */
  readonly inFlight: Map<Digest, ChunkInFlight>;
  /** A fresh temporary file name on the store's file system. */
  tempFile(): string;
  /** Stores a chunk that is not part of a whole-file object: appended to a pack, or a blob of its own. */
  writeLoose(digest: Digest, bytes: Uint8Array): void;
  /** Moves a finished object file into place and indexes its chunks; false when it was there already. */
  publish(tmp: string, key: string, size: number, dataBytes: number, chunks: { digest: Digest; offset: number; length: number }[]): boolean;
}

/**
 * The name of the object holding `content`: sha256 of its size, chunk size and chunk digests (the
 * digests are unique per distinct bytes in a store, so the name is too, without reading a byte).
 */
export function objectKey(content: Content): string {
  const hash = createHash('sha256').update(`${content.size}:${content.chunkSize}:`);
  for (const digest of content.chunks) hash.update(digest ?? '-').update(',');
  return hash.digest('hex');
}

/**
 * Writes one file. A file of more than one chunk goes end to end into a new object (chunk i at
 * i x chunkSize, holes left sparse), so the object is the file and the kernel can read it
 * directly. A one-chunk file is a loose chunk (a pack: no file created per small file). Dedup
 * stays exact: a chunk already stored for another file turns the writer into loose puts (what it
 * wrote so far moves to loose chunks), so no byte is stored twice across files; a chunk repeated
 * within the file is written again (the object must hold the whole file) and counted in the
 * object's data bytes.
 */
export class ObjectWriter implements FileWriter {
  private fd = -1;
  private tmp: string | undefined;
  private readonly chunks: (Digest | null)[] = [];
  /** A new first chunk, in memory until a second one shows the file needs an object. */
  private held: { digest: Digest; bytes: Uint8Array } | undefined;
  /** Chunks first stored in the object, with their places. */
  private readonly mine: { digest: Digest; offset: number; length: number }[] = [];
  private readonly own = new Set<Digest>();
  private dataBytes = 0;
  /** Past the first chunk stored elsewhere: loose puts from then on. */
  private loose = false;
  private done = false;

  constructor(
    private readonly host: ObjectHost,
    private readonly chunkSize: number,
    /**
     * A file that holds the bytes already, at their offsets, and becomes the object itself (no
     * byte written again); removed unless published.
     */
    private adopted?: string,
  ) {}

  put(bytes: Uint8Array): Digest | null {
    if (this.done) throw new Error('ObjectWriter.put after finish or abort');
    const offset = this.chunks.length * this.chunkSize;
    if (isAllZero(bytes)) {
      this.chunks.push(null);
      return null;
    }
    if (this.loose) {
      const digest = this.host.place(bytes, (digest) => this.host.writeLoose(digest, bytes)).digest;
      this.chunks.push(digest);
      return digest;
    }
    const first = this.chunks.length === 0;
    const { digest, stored } = this.host.place(bytes, (digest) => {
      this.own.add(digest);
      if (first) {
        // A copy (Buffer.prototype.slice would share the memory): the caller may reuse its buffer.
        this.held = { digest, bytes: Uint8Array.prototype.slice.call(bytes) };
        this.host.inFlight.set(digest, { bytes: this.held.bytes });
        return;
      }
      this.open();
      this.write(bytes, offset);
      this.mine.push({ digest, offset, length: bytes.length });
      this.host.inFlight.set(digest, { fd: this.fd, offset, length: bytes.length });
    });
    this.chunks.push(digest);
    if (stored) return digest;
    if (this.own.has(digest)) {
      this.open();
      this.write(bytes, offset);
    } else {
      this.becomeLoose();
    }
    return digest;
  }

  finish(size: number): void {
    if (this.done) throw new Error('ObjectWriter.finish after finish or abort');
    this.done = true;
    if (this.fd < 0) {
      // One chunk (or none but holes): a loose chunk.
      try {
        if (this.held) this.host.writeLoose(this.held.digest, this.held.bytes);
      } finally {
        this.drop();
      }
      return;
    }
    const key = objectKey({ size, chunkSize: this.chunkSize, chunks: this.chunks });
    const tmp = this.tmp!;
    try {
      // The last chunk may be a hole: the object is as long as the file.
      fs.ftruncateSync(this.fd, size);
      fs.closeSync(this.fd);
      this.fd = -1;
      if (!this.host.publish(tmp, key, size, this.dataBytes, this.mine)) removeFile(tmp);
    } catch (error) {
      this.drop();
      throw error;
    } finally {
      this.forgetInFlight();
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.drop();
  }

  /** The object file, created at the second chunk: the held first chunk goes in first. */
  private open(): void {
    if (this.fd >= 0) return;
    this.tmp = this.adopted ?? this.host.tempFile();
    this.fd = this.adopted ? fs.openSync(this.adopted, 'r+') : fs.openSync(this.tmp, 'wx+', 0o444);
    if (this.adopted) fs.fchmodSync(this.fd, 0o444);
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.write(held.bytes, 0);
    this.mine.push({ digest: held.digest, offset: 0, length: held.bytes.length });
  }

  private write(bytes: Uint8Array, offset: number): void {
    if (!this.adopted) for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.fd, bytes, at, bytes.length - at, offset + at);
    this.dataBytes += bytes.length;
  }

  /** What was stored so far becomes loose chunks; the object is dropped. */
  private becomeLoose(): void {
    this.loose = true;
    if (this.held) this.host.writeLoose(this.held.digest, this.held.bytes);
    for (const chunk of this.mine) {
      const bytes = Buffer.allocUnsafe(chunk.length);
      fs.readSync(this.fd, bytes, 0, chunk.length, chunk.offset);
      this.host.writeLoose(chunk.digest, bytes);
    }
    this.mine.length = 0;
    this.drop();
  }

  private drop(): void {
    this.held = undefined;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    const tmp = this.tmp ?? this.adopted;
    if (tmp) removeFile(tmp);
    this.tmp = undefined;
    this.adopted = undefined;
    this.forgetInFlight();
  }

  private forgetInFlight(): void {
    for (const digest of this.own) this.host.inFlight.delete(digest);
    this.own.clear();
  }
}
