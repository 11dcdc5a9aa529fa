import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type LockHolder, LockFile } from '../../src/container/lock-file.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * node:fs as lock-file.ts sees it, with a hook after every call that reads or changes a path: it
 * lets a test run another acquirer at an exact point of a takeover, in one process.
 */
const fsHook = vi.hoisted(() => ({ after: undefined as ((op: string, target: unknown) => void) | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const hooked = (op: 'readFileSync' | 'renameSync' | 'rmSync' | 'unlinkSync' | 'linkSync') =>
    ((...args: unknown[]) => {
      const result = (real[op] as (...a: unknown[]) => unknown)(...args);
      fsHook.after?.(op, args[0]);
      return result;
    }) as never;
  const overrides = { readFileSync: hooked('readFileSync'), renameSync: hooked('renameSync'), rmSync: hooked('rmSync'), unlinkSync: hooked('unlinkSync'), linkSync: hooked('linkSync') };
  return { ...real, ...overrides, default: { ...real, ...overrides } };
});
const fs = await import('node:fs');

beforeEach(() => {
  fsHook.after = undefined;
});

function staleLock(): { file: string; stale: string } {
  const file = path.join(tempDir('layerfs-lock-'), 'container-web.lock');
  const stale = JSON.stringify({ pid: spawnSync(process.execPath, ['-e', '']).pid, what: 'mounted', since: '' });
  fs.writeFileSync(file, stale);
  return { file, stale };
}

/**
 * Two acquirers, A and B, judge the same stale lock dead: B reads it first, then A takes it over
 * before B acts on what it read. `meanwhile` runs once at the first moment during B's takeover
 * when the lock file is missing (a sound takeover never removes A's live lock, so it never runs
 * there); it gets A's lock.
 */
function lateTakeover(file: string, meanwhile: (a: LockFile) => void): { a: LockFile; b: LockFile | LockHolder } {
  let a: LockFile | LockHolder | undefined;
  let busy = false;
  fsHook.after = (op, target) => {
    if (busy) return;
    busy = true;
    try {
      if (a === undefined && op === 'readFileSync' && target === file) {
        a = LockFile.tryAcquire(file, { what: 'A' });
      } else if (a instanceof LockFile && !fs.existsSync(file)) {
        fsHook.after = undefined;
        meanwhile(a);
      }
    } finally {
      busy = false;
    }
  };
  const b = LockFile.tryAcquire(file, { what: 'B' });
  fsHook.after = undefined;
  if (!(a instanceof LockFile)) throw new Error('A did not take the stale lock over');
  return { a, b };
}

describe('LockFile takeover of a stale lock', () => {
  it('a takeover judged on a stale view does not remove the lock another process took meanwhile', () => {
    const { file } = staleLock();
    let c: LockFile | LockHolder | undefined;
    const { a, b } = lateTakeover(file, () => (c = LockFile.tryAcquire(file, { what: 'C' })));
    c ??= LockFile.tryAcquire(file, { what: 'C' });
    const holders = [a, b, c].filter((got) => got instanceof LockFile && got.held);
    expect(holders).toEqual([a]);
    expect(b).not.toBeInstanceOf(LockFile);
    expect(c).not.toBeInstanceOf(LockFile);
    expect(LockFile.holder(file)?.what).toBe('A');
  });

  it('a lock released during another process\'s late takeover stays released', () => {
    const { file } = staleLock();
    let released = false;
    const { a, b } = lateTakeover(file, (lock) => {
      lock.release();
      released = true;
    });
    expect(b).not.toBeInstanceOf(LockFile);
    if (!released) a.release();
    expect(LockFile.holder(file)).toBeUndefined();
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it('a takeover guard left by a process that died while taking over is taken over too', () => {
    const { file } = staleLock();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(`${file}.takeover`, JSON.stringify({ pid: dead, what: 'taking over container-web.lock', since: '' }));
    const got = LockFile.tryAcquire(file, { what: 'mounted' });
    expect(got).toBeInstanceOf(LockFile);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['container-web.lock']);
  });
});
