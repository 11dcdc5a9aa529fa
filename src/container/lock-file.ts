import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempPath } from '../durable-file.js';
import { isAlive } from '../pid.js';

/** Who holds a lock file: its content. */
export interface LockHolder {
  pid: number;
  /** The holder's start time (Linux clock ticks since boot), so a reused pid is not taken for it. */
  start?: string;
  /** What the holder does, for messages: `mounted`, `saving container web`. */
  what: string;
  /** Where the holder serves a mount, so `umount` can find it and messages can name it. */
  mountpoint?: string;
  since: string;
}

/** What a new holder says about itself. */
export type LockPurpose = Pick<LockHolder, 'what' | 'mountpoint'>;

/**
 * An exclusive lock held by a process as a file whose content names it. Taking it is atomic
 * (link(2) of a complete temporary file, so a reader never sees a half-written holder); a lock
 * whose holder died is stale and taken over. Works across processes on one host; two Engines of
 * one process exclude each other too.
 */
export class LockFile {
  private constructor(
    readonly file: string,
    private readonly content: string,
  ) {}

  /** Takes the lock, or returns the live holder when someone else has it. */
  static tryAcquire(file: string, purpose: LockPurpose): LockFile | LockHolder {
    const holder: LockHolder = { pid: process.pid, start: startTime(process.pid), ...purpose, since: new Date().toISOString() };
    const content = JSON.stringify(holder);
    for (let attempt = 0; ; attempt++) {
      if (linkNew(file, content)) return new LockFile(file, content);
      const seen = readLock(file);
      if (seen === undefined) continue; // released between our link and our read: try again
      if (isLive(seen.holder)) return seen.holder;
      if (attempt > 100) throw new Error(`cannot take over the stale lock ${file}`);
      takeOver(file, seen.raw);
    }
  }

  /** Takes the lock, waiting up to `waitMs` for a live holder to let go. */
  static acquire(file: string, purpose: LockPurpose, waitMs: number): LockFile | LockHolder {
    const deadline = Date.now() + waitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const got = LockFile.tryAcquire(file, purpose);
      if (got instanceof LockFile || Date.now() >= deadline) return got;
      sleep(pause);
    }
  }

  /** The live holder of a lock file, or undefined when it is free or stale. */
  static holder(file: string): LockHolder | undefined {
    const seen = readLock(file);
    return seen && isLive(seen.holder) ? seen.holder : undefined;
  }

  /** Lets go, unless someone took the lock over (it was judged stale): theirs stays. */
  release(): void {
    try {
      if (fs.readFileSync(this.file, 'utf8') === this.content) fs.rmSync(this.file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  get held(): boolean {
    try {
      return fs.readFileSync(this.file, 'utf8') === this.content;
    } catch {
      return false;
    }
  }
}

/** Creates `file` with `content` atomically; false when it exists. */
function linkNew(file: string, content: string): boolean {
  const tmp = tempPath(path.dirname(file));
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readLock(file: string): { raw: string; holder: LockHolder } | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return { raw, holder: JSON.parse(raw) as LockHolder };
  } catch {
    // Content is complete once the file exists (link of a written file): garbage is nobody's.
    return { raw, holder: { pid: 0, what: 'unreadable lock', since: '' } };
  }
}

/** How long a takeover waits for another process's (a few system calls long) takeover. */
const guardWaitMs = 5000;

/**
 * Removes a stale lock so it can be taken again. There is no "unlink if the content is still X"
 * in POSIX, and two processes may judge the same lock stale: the slower one, acting on what it
 * read earlier, would remove (or rename aside) the live lock the faster one has linked since. So
 * the check and the removal happen under a guard, `<file>.takeover`, itself a LockFile: while it is
 * held nobody else removes the lock file, and a lock's owner only removes its own live content,
 * so content equal to the stale content we judged dead is still that dead lock. A guard whose
 * holder died in the guarded section is stale and is taken over the same way (by
 * `<file>.takeover.takeover`, needed only after such a death).
 */
function takeOver(file: string, staleRaw: string): void {
  const guardFile = `${file}.takeover`;
  const guard = LockFile.acquire(guardFile, { what: `taking over ${path.basename(file)}` }, guardWaitMs);
  if (!(guard instanceof LockFile)) throw new Error(`cannot take over the stale lock ${file}: pid ${guard.pid} has held ${guardFile} for more than ${guardWaitMs / 1000} s`);
  try {
    if (readLock(file)?.raw === staleRaw) fs.rmSync(file, { force: true });
  } finally {
    guard.release();
  }
}

export function isLive(holder: LockHolder): boolean {
  if (!isAlive(holder.pid)) return false;
  const stat = procStat(holder.pid);
  if (stat === undefined) return true;
  // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0) but holds nothing;
  // a pid reused by an unrelated process after the holder died is not the holder.
  return stat.state !== 'Z' && (holder.start === undefined || stat.start === holder.start);
}


/** State (field 3) and start time (field 22) of /proc/PID/stat; undefined where there is no /proc. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function startTime(pid: number): string | undefined {
  return procStat(pid)?.start;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}
