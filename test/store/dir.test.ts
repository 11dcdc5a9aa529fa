import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirBlobStore, putContent, readContent } from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';

describe('DirBlobStore', () => {
  it('keeps its blobs across a reopen', () => {
    const root = tempDir();
    const first = new DirBlobStore(root);
    const bytes = seededBytes(300_000, 1);
    const content = putContent(first, bytes);
    const blobs = first.stats().blobs;

    const second = new DirBlobStore(root);
    expect(second.stats()).toMatchObject({ blobs, storedBytes: 300_000 });
    expect(new Set(second.digests())).toEqual(new Set(first.digests()));
    expectBytes(readContent(second, content), bytes);
    for (const digest of second.digests()) expect(second.verify(digest)).toBe(true);
  });

  it('deduplicates against blobs an earlier instance stored', () => {
    const root = tempDir();
    const digest = new DirBlobStore(root).put(seededBytes(100, 2));
    const again = new DirBlobStore(root);
    expect(again.put(seededBytes(100, 2))).toBe(digest);
    expect(again.stats().blobs).toBe(1);
  });

  it('fans blobs out into folders named by the first two hex digits', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const digest = store.put(seededBytes(10, 3));
    expect(store.pathOf(digest)).toBe(path.join(store.root, 'blobs', digest.slice(6, 8), digest.replace(':', '-')));
    expect(fs.existsSync(store.pathOf(digest))).toBe(true);
  });

  it('stores collision suffixes in file names and lists them back', () => {
    const store = new DirBlobStore(tempDir(), { durable: false, hash: () => 7n });
    const a = store.put(seededBytes(10, 1));
    const b = store.put(seededBytes(10, 2));
    expect(b).toBe(`${a}~1`);
    expect(new Set(new DirBlobStore(store.root, { hash: () => 7n }).digests())).toEqual(new Set([a, b]));
  });

  it('leaves no temporary files behind after puts', () => {
    const store = new DirBlobStore(tempDir());
    for (let i = 0; i < 20; i++) store.put(seededBytes(1000, i + 1));
    expect(fs.readdirSync(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('ignores stray files that are not blobs when listing', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const digest = store.put(seededBytes(10, 1));
    fs.writeFileSync(path.join(path.dirname(store.pathOf(digest)), 'README'), 'not a blob');
    expect([...store.digests()]).toEqual([digest]);
  });

  it('leaves the temporary files of a live process alone when opened', () => {
    const root = tempDir();
    new DirBlobStore(root);
    const mine = path.join(root, 'tmp', `${process.pid}-0-999`);
    fs.writeFileSync(mine, 'a put in progress');
    new DirBlobStore(root);
    expect(fs.existsSync(mine)).toBe(true);
  });
});
