import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { isAlive } from './pid.js';

/**
 * Files replaced so that a crash at any moment leaves the old content or the new one, never a
 * torn file: write a temporary file, fsync it, rename it over the target, fsync the target's
 * folder (rename(2) is atomic; the folder fsync makes the rename itself durable). The blob store
 * and the engine's records and marker are written this way.
 */

/** Shared by every writer of this thread: two writers in one folder must not pick the same name. */
let counter = 0;

/**
 * A fresh temporary file name in `folder`. It starts with a dot, so listings skip it, and carries
 * the writer's pid and thread id, so several processes and worker threads can share a folder and
 * `removeAbandoned` can tell a dead writer's leftovers from a live one's.
 */
export function tempPath(folder: string): string {
  return path.join(folder, `.${process.pid}-${threadId}-${counter++}.tmp`);
}

export interface WriteOptions {
  /** fsync the file and its folder (default true); off only for scratch stores and benchmarks. */
  durable?: boolean;
  /** With `durable`, leave the fsyncs to `pending.sync()` instead of doing them now (batch mode). */
  pending?: PendingSyncs;
  /** Where the temporary file goes (default: beside the file); it must be on the same file system. */
  tempDir?: string;
}

/** Replaces (or creates) `file` with `data` atomically and, unless told otherwise, durably. */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const durable = options.durable ?? true;
  const folder = path.dirname(file);
  const tmp = tempPath(options.tempDir ?? folder);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    // Loops over short writes (write(2) stops near 2 GiB on Linux).
    fs.writeFileSync(fd, data);
    if (durable && !options.pending) fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  if (!durable) return;
  if (options.pending) options.pending.add(file);
  else syncPath(folder);
}

/**
 * Files and their folders whose fsyncs were left for later: a caller that writes many files and
 * then a record naming them syncs once before the record, which gives the same guarantee as a
 * sync per file for a fraction of the cost.
 */
export class PendingSyncs {
  private readonly paths = new Set<string>();

  /** A file (and the folder holding its name) the next sync must cover. */
  add(file: string): void {
    this.paths.add(file).add(path.dirname(file));
  }

  sync(): void {
    // Many files: one syncfs(2) of their file system (`sync -f`, as Node has no syncfs) costs
    // one journal commit where an fsync each costs one apiece. A few: fsync each, so as not to
    // flush what other programs have written to the same disk.
    const first = this.paths.values().next().value;
    if (first !== undefined && this.paths.size > SYNCFS_ABOVE && syncFileSystem(first)) return this.paths.clear();
    for (const file of this.paths) {
      try {
        syncPath(file);
      } catch (error) {
        // Deleted since it was written (gc, a pack dropped): nothing of it to keep.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    this.paths.clear();
  }
}

/** Pending files and folders past which one syncfs beats an fsync each. */
const SYNCFS_ABOVE = 64;

/** syncfs(2) of the file system holding `file`, through coreutils' `sync -f`: false if it could not run. */
function syncFileSystem(file: string): boolean {
  const result = spawnSync('sync', ['-f', file], { stdio: 'ignore' });
  return result.status === 0;
}

/** Removes a file if it is there (unlink(2) alone: fs.rmSync stats first and walks folders). */
export function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Removes a file and makes the removal durable. */
export function removeFileDurably(file: string, durable = true): void {
  removeFile(file);
  if (durable) syncPath(path.dirname(file));
}

/** fsyncs a file or a folder. */
export function syncPath(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Our temporaries, and the blob store's as older versions named them (`<pid>-<tid>-<n>` in its tmp folder). */
const TEMP = /^\.?(\d+)-\d+-\d+(?:\.tmp)?$/;
/** Locks that older versions of lock-file.ts set aside. */
const STALE = /\.stale-(\d+)-\d+-\d+$/;

/**
 * Removes what writers that died left in `folder`. The temporaries of live processes are left
 * alone, ours included: another worker thread of this process may be writing one right now.
 */
export function removeAbandoned(folder: string): void {
  for (const name of fs.readdirSync(folder)) {
    const match = TEMP.exec(name) ?? STALE.exec(name);
    if (match && !isAlive(Number(match[1]))) fs.rmSync(path.join(folder, name), { force: true });
  }
}
