import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { BaseBlobStore, type BlobStoreOptions } from './blob-store.js';
import { type Digest, isDigest } from './digest.js';
import { isAlive } from '../pid.js';

/**
 * Blobs as files under `<root>/blobs/<2 hex>/<digest>`. A put writes a temporary file, fsyncs
 * it, renames it into place and fsyncs the folder: a crash leaves either no blob or the whole
 * blob, never a torn one. Leftover temporary files are removed when the store is opened.
 * Temporary names carry the process id and thread id, so several processes and worker threads
 * can share one store.
 */
export interface DirBlobStoreOptions extends BlobStoreOptions {
  /** fsync each blob and its folder (default true); off only for scratch stores and benchmarks. */
  durable?: boolean;
}

export class DirBlobStore extends BaseBlobStore {
  readonly root: string;
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private readonly durable: boolean;

  constructor(root: string, options?: DirBlobStoreOptions) {
    super(options);
    this.root = root;
    this.blobDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
    this.durable = options?.durable ?? true;
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
    return path.join(this.blobDir, digest.slice(6, 8), digest.replace(':', '-'));
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

  protected writeRaw(digest: Digest, bytes: Uint8Array): void {
    const target = this.pathOf(digest);
    const folder = path.dirname(target);
    fs.mkdirSync(folder, { recursive: true });
    const tmp = path.join(this.tmpDir, `${process.pid}-${threadId}-${tmpCounter++}`);
    const fd = fs.openSync(tmp, 'w');
    try {
      // write(2) may write less than asked (Linux stops near 2 GiB).
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
      if (this.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    if (this.durable) syncDir(folder);
  }
}

/** Shared by every store of this thread: two stores on one root must not pick the same name. */
let tmpCounter = 0;

function syncDir(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}


function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
