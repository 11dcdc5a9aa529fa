import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

let counter = 0;

/**
 * Replaces a file so that a crash at any moment leaves the old content or the new one, never a
 * torn file: write a temporary file beside it, fsync it, rename it over the target, fsync the
 * folder (rename(2) is atomic; the folder fsync makes the rename itself durable). The temporary
 * name starts with a dot and the writer's pid, so listings skip it and `removeAbandoned` can tell
 * a dead writer's leftovers from a live one's.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, durable = true): void {
  const folder = path.dirname(file);
  const tmp = path.join(folder, `.${process.pid}-${threadId}-${counter++}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  if (durable) syncFolder(folder);
}

/** Removes a file and makes the removal durable. */
export function removeFileDurably(file: string, durable = true): void {
  fs.rmSync(file, { force: true });
  if (durable) syncFolder(path.dirname(file));
}

export function syncFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Temporary files of writers that died (and `.stale-` locks that older versions of lock-file.ts set aside). */
export function removeAbandoned(folder: string, isAlive: (pid: number) => boolean): void {
  for (const name of fs.readdirSync(folder)) {
    const match = /^\.(\d+)-\d+-\d+\.tmp$/.exec(name) ?? /\.stale-(\d+)-\d+-\d+$/.exec(name);
    if (match && !isAlive(Number(match[1]))) fs.rmSync(path.join(folder, name), { force: true });
  }
}
