import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { BaseBlobStore, type BlobStoreOptions } from './blob-store.js';
import { type Digest, isDigest } from './digest.js';
import { BlobError } from './errors.js';
import { isAlive } from '../pid.js';

/**
 * Blobs as files under `<root>/blobs/<2 hex>/<digest>`. A put writes a temporary file, fsyncs
 * it, renames it into place and fsyncs the folder: a crash leaves either no blob or the whole
 * blob, never a torn one (in batch mode the fsyncs wait for `sync()`; a blob torn by a power
 * loss before it is referenced is found by its digest and rewritten by the next put). Leftover temporary files are removed when the store is opened.
 * Temporary names carry the process id and thread id, so several processes and worker threads
 * can share one store.
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
  private readonly batch: boolean;
  /** Blob files and folders written since the last sync, in batch mode. */
  private readonly unsynced = new Set<string>();
  private readonly recent = new Map<Digest, Uint8Array>();

  constructor(root: string, options?: DirBlobStoreOptions) {
    super(options);
    this.root = root;
    this.blobDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
    this.durable = options?.durable ?? true;
    this.batch = options?.batch ?? false;
    fs.mkdirSync(this.blobDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
    this.removeAbandonedTemporaries();
  }

  /**
   * Temporary files of processes that died mid-put. Those of live processes are left alone, ours
   * included: another worker thread of this process may be writing one right now.
   */
  private removeAbandonedTemporaries(): void {
    for (const name of fs.readdirSync(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (isAlive(pid)) continue;
      fs.rmSync(path.join(this.tmpDir, name), { force: true });
    }
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
    const folder = path.dirname(target);
    fs.mkdirSync(folder, { recursive: true });
    const tmp = path.join(this.tmpDir, `${process.pid}-${threadId}-${tmpCounter++}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      // write(2) may write less than asked (Linux stops near 2 GiB).
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
      if (this.durable && !this.batch) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    if (this.durable && !this.batch) syncPath(folder);
    if (this.durable && this.batch) this.unsynced.add(target).add(folder);
  }

  protected override reused(digest: Digest): void {
    // Another process may have written it in batch mode and not synced yet: our record will name
    // it, so our sync must cover it.
    if (this.durable && this.batch) {
      const target = this.pathOf(digest);
      this.unsynced.add(target).add(path.dirname(target));
    }
  }

  /** Makes every blob written so far durable (a no-op unless `batch` deferred some fsyncs). */
  sync(): void {
    for (const file of this.unsynced) syncPath(file);
    this.unsynced.clear();
  }
}

const ONE_BYTE = new Uint8Array(1);
/** Blobs kept by get() for a reader that comes back for the rest of a chunk. */
const RECENT_BLOBS = 8;

/** Shared by every store of this thread: two stores on one root must not pick the same name. */
let tmpCounter = 0;

function syncPath(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}


function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
