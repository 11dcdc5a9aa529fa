import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DirBlobStore, isDigest } from '../../src/store/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { killMidway } from './children/kill.js';

const children = fileURLToPath(new URL('./children/', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('DirBlobStore after a crash', () => {
  it('holds only whole blobs when a writer is killed with SIGKILL mid-put', async () => {
    const root = tempDir();
    // Killed some time into a later put, most likely mid-write.
    const child = await killMidway('put-loop.ts', [root, String(4 * 1024 * 1024)], 'put ', 12);
    expect(child.signal).toBe('SIGKILL');

    // A leftover of the dead writer, whether or not the kill landed mid-write.
    const tmp = path.join(root, 'tmp');
    fs.writeFileSync(path.join(tmp, `${child.pid}-0-999999`), 'half a blob');

    const store = new DirBlobStore(root);
    expect(fs.readdirSync(tmp)).toEqual([]);
    const digests = [...store.digests()];
    expect(digests.length).toBeGreaterThanOrEqual(12);
    for (const digest of digests) {
      expect(isDigest(digest)).toBe(true);
      expect(store.verify(digest), digest).toBe(true);
      expect(store.size(digest)).toBe(4 * 1024 * 1024);
    }
    const bytes = seededBytes(100_000, 1);
    const digest = store.put(bytes);
    expect(store.verify(digest)).toBe(true);
    expect(store.stats().blobs).toBe(digests.length + 1);
  });
});

describe('DirBlobStore shared by threads', () => {
  it('gives every worker thread whole blobs, however their puts and opens interleave', () => {
    const root = tempDir();
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(children, 'threads.ts'), root, '2', '200'], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const digests = JSON.parse(run.stdout) as string[];
    expect(new Set(digests).size).toBe(400);
    const store = new DirBlobStore(root);
    expect(store.stats().blobs).toBe(400);
    for (const digest of store.digests()) expect(store.verify(digest), digest).toBe(true);
  });
});
