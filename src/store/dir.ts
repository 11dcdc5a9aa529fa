import * as fs from 'node:fs';
import * as path from 'node:path';
import { BaseBlobStore, type BlobStoreOptions } from './blob-store.js';
import { type Digest, isDigest } from './digest.js';
import { BlobError } from './errors.js';
import { PendingSyncs, removeAbandoned, writeFileAtomic } from '../durable-file.js';

/**
 * Blobs as files under `<root>/blobs/<2 hex>/<digest>`, each written atomically and durably
 * (writeFileAtomic, its temporary file in `<root>/tmp`): a crash leaves either no blob or the
 * whole blob, never a torn one (in batch mode the fsyncs wait for `sync()`; a blob torn by a
 * power loss before it is referenced is found by its digest and rewritten by the next put).
 * Temporary names carry the process id and thread id, so several processes and worker threads
 * can share one store; those of dead writers are removed when the store is opened.
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
  private readonly tmpDir: string;
  private readonly durable: boolean;
  /** In batch mode, the blob files and folders written since the last sync. */
  private readonly pending: PendingSyncs | undefined;
  private readonly recent = new Map<Digest, Uint8Array>();

  constructor(root: string, options?: DirBlobStoreOptions) {
    super(options);
    this.root = root;
    this.blobDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
    this.durable = options?.durable ?? true;
    this.pending = this.durable && options?.batch ? new PendingSyncs() : undefined;
    fs.mkdirSync(this.blobDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
    removeAbandoned(this.tmpDir);
  }

  pathOf(digest: Digest): string {
    // The hash's first two hex digits fan blobs out over 256 folders.
    return `${this.blobDir}/${digest.slice(6, 8)}/xxh64-${digest.slice(6)}`;
  }

  has(digest: Digest): boolean {
    return fs.existsSync(this.pathOf(digest));
  }

  size(digest: Digest): number {
    try {
      return fs.statSync(this.pathOf(digest)).size;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  delete(digest: Digest): void {
    this.recent.delete(digest);
    fs.rmSync(this.pathOf(digest), { force: true });
  }

  *digests(): Iterable<Digest> {
    for (const fan of fs.readdirSync(this.blobDir)) {
      for (const name of fs.readdirSync(path.join(this.blobDir, fan))) {
        const digest = name.replace('-', ':');
        if (isDigest(digest)) yield digest;
      }
    }
  }

  protected readRaw(digest: Digest): Uint8Array | undefined {
    try {
      return fs.readFileSync(this.pathOf(digest));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
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
    const target = this.pathOf(digest);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, bytes, { durable: this.durable, pending: this.pending, tempDir: this.tmpDir });
  }

  protected override reused(digest: Digest): void {
    // Another process may have written it in batch mode and not synced yet: our record will name
    // it, so our sync must cover it.
    this.pending?.add(this.pathOf(digest));
  }

  /** Makes every blob written so far durable (a no-op unless `batch` deferred some fsyncs). */
  sync(): void {
    this.pending?.sync();
  }
}

const ONE_BYTE = new Uint8Array(1);
/** Blobs kept by get() for a reader that comes back for the rest of a chunk. */
const RECENT_BLOBS = 8;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
