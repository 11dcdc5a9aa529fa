import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from './engine-error.js';
import { type LockHolder, LockFile } from './lock-file.js';

/** A held lock: on a container (a mount), a mount point, or long work. */
export interface HeldLock {
  release(): void;
}

/**
 * The lock files of one store (`<store>/locks/`): `store.lock`, short and re-entrant, taken by
 * every writer of records and by gc; `container-<name>.lock` held by a mount; `mount-<hash>.lock`
 * held by a daemon serving a mount point; `work-<pid>-<n>.lock` held by long work (an import)
 * whose blobs nothing references yet. gc refuses while any but the store lock is live.
 */
export class StoreLocks {
  private depth = 0;
  private workCounter = 0;

  constructor(
    readonly folder: string,
    private readonly storeDir: string,
    private readonly waitMs: number,
  ) {}

  /** Runs `work` holding the store lock, waiting up to waitMs for another process to let go. */
  withStoreLock<T>(what: string, work: () => T, waitMs = this.waitMs): T {
    if (this.depth > 0) {
      this.depth++;
      try {
        return work();
      } finally {
        this.depth--;
      }
    }
    const got = LockFile.acquire(path.join(this.folder, 'store.lock'), { what }, waitMs);
    if (!(got instanceof LockFile)) {
      throw new EngineError('EBUSY', `the store ${this.storeDir} is locked by pid ${got.pid} (${got.what}) for more than ${waitMs / 1000} s; try again, or stop that process if it hangs`);
    }
    this.depth = 1;
    try {
      return work();
    } finally {
      this.depth = 0;
      got.release();
    }
  }

  /** A lock that tells gc to wait while long work writes blobs nothing references yet. */
  pin(what: string): HeldLock {
    // Taken under the store lock, so it never starts in the middle of a gc.
    return this.withStoreLock(what, () => {
      const got = LockFile.tryAcquire(path.join(this.folder, `work-${process.pid}-${this.workCounter++}.lock`), { what });
      if (!(got instanceof LockFile)) throw new Error(`work lock of pid ${process.pid} taken twice`);
      return got;
    });
  }

  /** Live holders of every lock but the store lock. */
  liveHolders(): LockHolder[] {
    return fs
      .readdirSync(this.folder)
      .filter((file) => file.endsWith('.lock') && file !== 'store.lock')
      .flatMap((file) => LockFile.holder(path.join(this.folder, file)) ?? []);
  }

  containerFile(name: string): string {
    return path.join(this.folder, `container-${name}.lock`);
  }

  /** A mount point's lock file, named by a hash: a path may not fit in a file name. */
  mountFile(resolved: string): string {
    return path.join(this.folder, `mount-${createHash('sha256').update(resolved).digest('hex').slice(0, 16)}.lock`);
  }
}
