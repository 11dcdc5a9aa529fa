import * as fs from 'node:fs';
import { removeFile } from '../durable-file.js';
import { type Content, storeFile } from '../store/index.js';
import type { InodeStat, UnionView } from '../union/index.js';

interface WriteBacking {
  path: string;
  fd: number;
  /** The backing file's mtime when the view's times were last right: a later one means the kernel wrote since. */
  seenMtime: bigint;
  /** The chunks last taken in, to tell whether the bytes changed since. */
  taken: string;
}

/**
 * Files the kernel writes a program's bytes to directly (FUSE passthrough), one per file that was
 * empty when a writer opened it, until its last open is released. The daemon never sees those
 * writes, so while a file has one, its size and times are the backing file's, and its bytes are
 * taken into the view (stored, deduplicated) at fsync and when the file is released: the store's
 * own scratch file becomes the stored object where the store allows (DirBlobStore.adoptFile), so a
 * large file is hashed but never copied. What is not yet taken in is lost by a crash, as data
 * written without fsync is on any file system.
 */
export class WriteBackings {
  private readonly files = new Map<number, WriteBacking>();

  constructor(
    private readonly view: UnionView,
    /** A new scratch file name on the store's file system. */
    private readonly scratchFile: () => string,
  ) {}

  /** The node's backing file: the one it has, or a new one if the node is an empty regular file. */
  pathOf(ino: number): string | undefined {
    const known = this.files.get(ino);
    if (known) return known.path;
    const attr = this.view.stat(ino);
    if (attr.kind !== 'file' || attr.size !== 0) return undefined;
    const path = this.scratchFile();
    let fd: number;
    try {
      fd = fs.openSync(path, 'wx+', 0o600);
    } catch {
      // No room or no descriptor left for one: the daemon serves the writes instead.
      return undefined;
    }
    this.files.set(ino, { path, fd, seenMtime: mtimeOf(fd), taken: takenKey({ size: 0, chunkSize: 0, chunks: [] }) });
    return path;
  }

  has(ino: number): boolean {
    return this.files.has(ino);
  }

  /** Whether any file has one now. */
  get active(): boolean {
    return this.files.size > 0;
  }

  /** The kernel reads and writes backing files itself; a request that still comes is served from the file. */
  read(ino: number, position: number, length: number, target: Uint8Array, offset: number): number {
    return fs.readSync(this.files.get(ino)!.fd, target, offset, length, position);
  }

  write(ino: number, position: number, bytes: Uint8Array): number {
    return fs.writeSync(this.files.get(ino)!.fd, bytes, 0, bytes.length, position);
  }

  /** The node's attributes as a program sees them: size, and times once written, from its backing file. */
  stat(ino: number): InodeStat {
    const attr = this.view.stat(ino);
    const file = this.files.get(ino);
    if (!file) return attr;
    const backing = fs.fstatSync(file.fd, { bigint: true });
    const size = Number(backing.size);
    const written = backing.mtimeNs !== file.seenMtime;
    return {
      ...attr,
      size,
      blocks: Math.ceil(size / 512),
      mtime: written ? backing.mtimeNs : attr.mtime,
      ctime: written && backing.ctimeNs > attr.ctime ? backing.ctimeNs : attr.ctime,
    };
  }

  truncate(ino: number, size: number): void {
    fs.ftruncateSync(this.files.get(ino)!.fd, size);
  }

  /** Times set on the file (utimes): right as they are until the kernel writes again. */
  timesSet(ino: number): void {
    const file = this.files.get(ino);
    if (file) file.seenMtime = mtimeOf(file.fd);
  }

  /** Takes the backing file's bytes into the view (fsync); the file stays for its writers, so its bytes are copied. */
  takeIn(ino: number): void {
    const file = this.files.get(ino);
    if (!file) return;
    const mtime = this.stat(ino).mtime;
    // Read before the bytes: a write meanwhile shows as one after.
    const seen = mtimeOf(file.fd);
    const { store, chunkSize } = this.view;
    this.give(ino, file, storeFile(file.fd, chunkSize, store.fileWriter?.(chunkSize), store), mtime);
    // The view's times are right again.
    file.seenMtime = seen;
  }

  /** The last open is closed: the bytes go into the view, and the backing file into the store (or away). */
  release(ino: number): void {
    const file = this.files.get(ino);
    if (!file) return;
    const mtime = this.stat(ino).mtime;
    this.files.delete(ino);
    const { store, chunkSize } = this.view;
    try {
      // No one writes it any more: a store that adopts files takes it as it is (and removes it).
      const content = store.adoptFile ? store.adoptFile(file.path, chunkSize, file.fd) : storeFile(file.fd, chunkSize, undefined, store);
      this.give(ino, file, content, mtime);
    } finally {
      fs.closeSync(file.fd);
      if (!store.adoptFile) removeFile(file.path);
    }
  }

  /** Gives the node the stored bytes unless it has them already. */
  private give(ino: number, file: WriteBacking, content: Content, mtime: bigint): void {
    const taken = takenKey(content);
    if (taken === file.taken && mtime === this.view.stat(ino).mtime) return;
    file.taken = taken;
    this.view.setContent(ino, content, mtime);
  }
}

function takenKey(content: Content): string {
  return `${content.size}:${content.chunks.join(',')}`;
}

function mtimeOf(fd: number): bigint {
  return fs.fstatSync(fd, { bigint: true }).mtimeNs;
}
