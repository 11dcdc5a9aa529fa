import * as fs from 'node:fs';
import { type Digest, isDigest } from './digest.js';
import { tempPath } from '../durable-file.js';

/** Where a chunk's bytes lie: `length` bytes at `offset` of the object `object`. */
export interface ChunkPlace {
  readonly object: string;
  readonly offset: number;
  readonly length: number;
}

export interface ObjectInfo {
  /** The file's size (the object's length, holes included). */
  size: number;
  /** Bytes of data the object holds (holes excluded): what it costs on disk. */
  dataBytes: number;
  /** Chunks the index places in it and nobody deleted. */
  liveChunks: number;
}

/**
 * The chunk index of the directory store: which chunks lie inside which object. An append-only
 * text file every process of the store shares, one record a line, every line ending in ` .` so a
 * line torn by a crash is seen for what it is:
 *
 *   c DIGEST OFFSET LENGTH .                 a chunk of the object named by the next `o` line
 *   o KEY SIZE DATABYTES COUNT .             the object KEY is published with its COUNT `c` lines
 *                                            (a pack grows: each later `o` line adds chunks and
 *                                            gives its new size and data bytes)
 *   -c DIGEST .    -o KEY .                  a chunk or an object deleted
 *
 * An object's lines go in one append (O_APPEND: whole, after every other writer's), after the
 * object's file is in place, and count only once their `o` line is whole: a writer killed midway
 * leaves lines that are ignored and an object file nobody indexes, which compact() removes.
 * Each append starts with a newline, so it never continues another's torn line.
 */
export class ChunkIndex {
  private readonly chunks = new Map<Digest, ChunkPlace>();
  private readonly objects = new Map<string, ObjectInfo>();
  /** Lines read so far: where the next refresh starts, and which file they came from. */
  private consumed = 0;
  private inode = -1;
  private pending: { digest: Digest; offset: number; length: number }[] = [];
  private appendFd = -1;

  constructor(private readonly file: string) {
    this.refresh();
  }

  place(digest: Digest): ChunkPlace | undefined {
    return this.chunks.get(digest);
  }

  object(key: string): ObjectInfo | undefined {
    return this.objects.get(key);
  }

  digests(): IterableIterator<Digest> {
    return this.chunks.keys();
  }

  objectKeys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** Reads what other writers appended since the last look (all of it after a compaction). */
  refresh(): void {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (stat.ino !== this.inode) {
      this.chunks.clear();
      this.objects.clear();
      this.pending = [];
      this.consumed = 0;
      this.inode = stat.ino;
    }
    if (stat.size <= this.consumed) return;
    const fd = fs.openSync(this.file, 'r');
    let text: Buffer;
    try {
      text = Buffer.allocUnsafe(stat.size - this.consumed);
      let got = 0;
      while (got < text.length) {
        const read = fs.readSync(fd, text, got, text.length - got, this.consumed + got);
        if (read === 0) break;
        got += read;
      }
      text = text.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
    // Only whole lines: the last one may still be being written by another process.
    const end = text.lastIndexOf(0x0a) + 1;
    for (const line of text.subarray(0, end).toString('latin1').split('\n')) this.apply(line);
    this.consumed += end;
  }

  /** Publishes an object (its file already in place) and the chunks that lie in it. */
  publish(key: string, size: number, dataBytes: number, chunks: readonly { digest: Digest; offset: number; length: number }[]): void {
    let text = '\n';
    for (const chunk of chunks) text += `c ${chunk.digest} ${chunk.offset} ${chunk.length} .\n`;
    text += `o ${key} ${size} ${dataBytes} ${chunks.length} .\n`;
    this.append(text);
  }

  /** Deletes a chunk's record: the object it lay in, when no chunk of it is left. */
  remove(digest: Digest): string | undefined {
    const place = this.chunks.get(digest);
    if (!place) return undefined;
    this.append(`\n-c ${digest} .\n`);
    return this.objects.get(place.object)?.liveChunks === 0 ? place.object : undefined;
  }

  removeObject(key: string): void {
    if (this.objects.has(key)) this.append(`\n-o ${key} .\n`);
  }

  /**
   * Rewrites the index with only what is live, atomically. Only while no other process writes
   * (gc's exclusive lock): an append to the old file would be lost.
   */
  compact(durable: boolean): void {
    this.refresh();
    const byObject = new Map<string, string[]>();
    for (const [digest, place] of this.chunks) {
      const lines = byObject.get(place.object) ?? [];
      lines.push(`c ${digest} ${place.offset} ${place.length} .\n`);
      byObject.set(place.object, lines);
    }
    let text = '';
    for (const [key, info] of this.objects) {
      const lines = byObject.get(key) ?? [];
      text += `${lines.join('')}o ${key} ${info.size} ${info.dataBytes} ${lines.length} .\n`;
    }
    const tmp = tempPath(this.file.slice(0, this.file.lastIndexOf('/')));
    fs.writeFileSync(tmp, text);
    if (durable) {
      const fd = fs.openSync(tmp, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    this.closeAppend();
    this.inode = -1;
    this.refresh();
  }

  private append(text: string): void {
    // Kept open between appends; reopened once a compaction replaced the file (no link left).
    if (this.appendFd >= 0 && fs.fstatSync(this.appendFd).nlink === 0) this.closeAppend();
    if (this.appendFd < 0) this.appendFd = fs.openSync(this.file, 'a');
    const bytes = Buffer.from(text, 'latin1');
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.appendFd, bytes, at);
    const after = fs.fstatSync(this.appendFd);
    if (after.ino === this.inode && after.size === this.consumed + bytes.length) {
      // Nobody appended since we last read: our lines are all that is new.
      for (const line of text.split('\n')) this.apply(line);
      this.consumed = after.size;
    } else {
      this.refresh();
    }
  }

  private closeAppend(): void {
    if (this.appendFd >= 0) fs.closeSync(this.appendFd);
    this.appendFd = -1;
  }

  private apply(line: string): void {
    const fields = line.split(' ');
    if (fields.at(-1) !== '.') return; // empty, or torn
    const [kind, name, a, b, c] = fields;
    if (kind === 'c' && fields.length === 5 && isDigest(name!)) {
      this.pending.push({ digest: name, offset: Number(a), length: Number(b) });
    } else if (kind === 'o' && fields.length === 6) {
      const count = Number(c);
      // Lines of a group whose `o` line was torn come before this group's own: keep the last COUNT.
      const group = count > 0 ? this.pending.slice(-count) : [];
      this.pending = [];
      if (group.length !== count) return;
      const info = this.objects.get(name!) ?? { size: 0, dataBytes: 0, liveChunks: 0 };
      info.size = Math.max(info.size, Number(a));
      info.dataBytes = Math.max(info.dataBytes, Number(b));
      this.objects.set(name!, info);
      for (const chunk of group) {
        this.unplace(chunk.digest);
        this.chunks.set(chunk.digest, { object: name!, offset: chunk.offset, length: chunk.length });
        info.liveChunks++;
      }
    } else if (kind === '-c' && fields.length === 3 && isDigest(name!)) {
      this.unplace(name);
    } else if (kind === '-o' && fields.length === 3) {
      this.objects.delete(name!);
    }
  }

  /** Forgets where a chunk was (deleted, or stored again elsewhere after its copy went bad). */
  private unplace(digest: Digest): void {
    const old = this.chunks.get(digest);
    if (!old) return;
    this.chunks.delete(digest);
    const info = this.objects.get(old.object);
    if (info) info.liveChunks--;
  }
}
