import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Content, ContentWriter, DirBlobStore, collectGarbage, putContent, readContent, storeFile } from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { killMidway } from './children/kill.js';

const KiB = 1024;

/** 4 chunks of 16 KiB and a short one; the third a hole. */
function sparseFile(seed: number): Uint8Array {
  const bytes = seededBytes(70 * KiB, seed);
  bytes.fill(0, 32 * KiB, 48 * KiB);
  return bytes;
}

function objectFiles(root: string): string[] {
  const dir = path.join(root, 'objects');
  return fs.readdirSync(dir).filter((fan) => fan !== 'index').flatMap((fan) => fs.readdirSync(path.join(dir, fan)));
}

describe('DirBlobStore objects: a file laid out whole', () => {
  it('keeps an imported file whole in one backing file, holes sparse and the last chunk short', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const bytes = sparseFile(1);
    const content = putContent(store, bytes, 16 * KiB);
    expect(content.chunks[2]).toBeNull();
    const backing = store.backingFile(content)!;
    expect(backing).toMatch(/objects\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    expectBytes(fs.readFileSync(backing), bytes);
    expect(fs.statSync(backing).mode & 0o777).toBe(0o444);
    // No file per chunk: one object, and the index.
    expect(fs.readdirSync(path.join(store.root, 'blobs'))).toEqual([]);
    expect(objectFiles(store.root)).toHaveLength(1);
    expect(store.stats()).toMatchObject({ blobs: 4, storedBytes: 70 * KiB - 16 * KiB });
  });

  it('packs one-chunk files into one file instead of a file each; a blob put alone is its own file', () => {
    const store = new DirBlobStore(tempDir(), { durable: true, batch: true });
    const smalls = Array.from({ length: 50 }, (_, i) => putContent(store, seededBytes(100 + i, i + 1), 16 * KiB));
    store.sync();
    expect(objectFiles(store.root)).toHaveLength(1);
    expect(objectFiles(store.root)[0]).toMatch(/^pack-/);
    expect(fs.readdirSync(path.join(store.root, 'blobs'))).toEqual([]);
    const reopened = new DirBlobStore(store.root);
    smalls.forEach((content, i) => expectBytes(readContent(reopened, content), seededBytes(100 + i, i + 1)));
    expect(store.backingFile(smalls[0]!)).toBeUndefined(); // read through the daemon
    const alone = store.put(seededBytes(100, 99));
    expectBytes(fs.readFileSync(store.backingFile({ size: 100, chunkSize: 16 * KiB, chunks: [alone] })!), seededBytes(100, 99));
  });

  it('streams through ContentWriter in pieces of any size to the same object', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const bytes = sparseFile(3);
    const writer = new ContentWriter(store, 16 * KiB);
    for (let at = 0; at < bytes.length; at += 5000) writer.write(bytes.subarray(at, at + 5000));
    const content = writer.finish();
    expect(content).toEqual(putContent(store, bytes, 16 * KiB));
    expectBytes(fs.readFileSync(store.backingFile(content)!), bytes);
    expect(objectFiles(store.root)).toHaveLength(1);
  });

  it('stores a file read a chunk at a time into one buffer (storeFile), or adopts a scratch file as the object itself', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const source = path.join(tempDir(), 'file');
    fs.writeFileSync(source, sparseFile(5));
    const read = storeFile(source, 16 * KiB, store.fileWriter(16 * KiB));
    for (const digest of read.chunks) if (digest) expect(store.verify(digest), digest).toBe(true);
    expectBytes(readContent(store, read), sparseFile(5));

    const scratch = store.scratchFile();
    fs.writeFileSync(scratch, sparseFile(6));
    const inode = fs.statSync(scratch).ino;
    const adopted = store.adoptFile(scratch, 16 * KiB);
    expect(fs.existsSync(scratch)).toBe(false);
    const object = store.backingFile(adopted)!;
    // The very file, renamed into place read-only: no byte written twice.
    expect(fs.statSync(object)).toMatchObject({ ino: inode, mode: expect.any(Number) });
    expect(fs.statSync(object).mode & 0o777).toBe(0o444);
    expectBytes(readContent(store, adopted), sparseFile(6));
    // The same bytes again: the object is there already, the scratch file goes.
    const again = store.scratchFile();
    fs.writeFileSync(again, sparseFile(6));
    expect(store.adoptFile(again, 16 * KiB)).toEqual(adopted);
    expect(fs.existsSync(again)).toBe(false);
  });

  it('deduplicates exactly: the same file stores nothing; a file sharing chunks with another stores only its new ones', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const bytes = seededBytes(64 * KiB, 5);
    const first = putContent(store, bytes, 16 * KiB);
    const stored = store.stats().storedBytes;
    const again = putContent(store, bytes.slice(), 16 * KiB);
    expect(again).toEqual(first);
    expect(store.stats().storedBytes).toBe(stored);
    expect(store.backingFile(again)).toBe(store.backingFile(first));

    const variant = bytes.slice();
    variant.set(seededBytes(4 * KiB, 6), 40 * KiB);
    const edited = putContent(store, variant, 16 * KiB);
    expect(edited.chunks.filter((digest, i) => digest !== first.chunks[i])).toHaveLength(1);
    expect(store.stats().storedBytes).toBe(stored + 16 * KiB);
    expect(store.backingFile(edited)).toBeUndefined(); // read chunk by chunk
    expectBytes(readContent(store, edited), variant);
  });

  it('keeps a chunk repeated within a file in its object, so the object stays the file', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const chunk = seededBytes(16 * KiB, 7);
    const bytes = Buffer.concat([chunk, seededBytes(16 * KiB, 8), chunk]);
    const content = putContent(store, bytes, 16 * KiB);
    expect(content.chunks[2]).toBe(content.chunks[0]);
    expectBytes(fs.readFileSync(store.backingFile(content)!), bytes);
    expect(store.stats()).toMatchObject({ blobs: 2, storedBytes: 48 * KiB });
  });

  it('sees objects another instance published, and reads them after a reopen', () => {
    const root = tempDir();
    const reader = new DirBlobStore(root, { durable: false });
    const writer = new DirBlobStore(root, { durable: false });
    const bytes = sparseFile(9);
    const content = putContent(writer, bytes, 16 * KiB);
    expectBytes(readContent(reader, content), bytes);
    expect(reader.backingFile(content)).toBe(writer.backingFile(content));
    expect(new Set(new DirBlobStore(root).digests())).toEqual(new Set(writer.digests()));
  });

  it('gc deletes an object once none of its chunks is live, and a file a dead writer never indexed', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const kept = putContent(store, seededBytes(48 * KiB, 10), 16 * KiB);
    const dropped = putContent(store, seededBytes(48 * KiB, 11), 16 * KiB);
    const orphan = path.join(store.root, 'objects', 'ab', 'ab'.padEnd(64, '0'));
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, 'renamed into place, then the writer was killed');
    const live = new Set([...kept.chunks.slice(0, 1), ...(dropped.chunks.slice(1) as string[])].map((digest) => digest!));

    expect(collectGarbage(store, live as Set<never>)).toEqual({ deleted: 3, freedBytes: 48 * KiB });
    expect(objectFiles(store.root)).toHaveLength(2); // each keeps a live chunk
    expect(collectGarbage(store, new Set([kept.chunks[0]!]))).toEqual({ deleted: 2, freedBytes: 32 * KiB });
    expect(objectFiles(store.root)).toEqual([path.basename(store.backingFile(kept)!)]);
    expectBytes(store.get(kept.chunks[0]!), seededBytes(48 * KiB, 10).subarray(0, 16 * KiB));
    // The index was rewritten with what is live, and a fresh instance agrees.
    expect(fs.readFileSync(path.join(store.root, 'objects', 'index'), 'latin1').trim().split('\n')).toHaveLength(2);
    expect([...new DirBlobStore(store.root).digests()]).toEqual([kept.chunks[0]]);
  });

  it('ignores index lines torn by a crash, and counts what is appended after them', () => {
    const root = tempDir();
    const store = new DirBlobStore(root, { durable: false });
    const first = putContent(store, seededBytes(32 * KiB, 12), 16 * KiB);
    const index = path.join(root, 'objects', 'index');
    // A writer killed midway through its append: one chunk line whole, its object line torn.
    fs.appendFileSync(index, `\nc xxh64:0123456789abcdef 0 16384 .\no ${'f'.repeat(64)} 32768 327`);
    const second = putContent(new DirBlobStore(root, { durable: false }), seededBytes(32 * KiB, 13), 16 * KiB);
    const reopened = new DirBlobStore(root);
    expect(new Set(reopened.digests())).toEqual(new Set([...first.chunks, ...second.chunks]));
    for (const content of [first, second] as Content[]) expect(reopened.backingFile(content)).toBeDefined();
  });
});

describe('DirBlobStore objects after a crash', () => {
  it('holds only whole, verified chunks when an importer is killed with SIGKILL mid-file', async () => {
    const root = tempDir();
    const child = await killMidway('import-loop.ts', [root, String(4 * 1024 * KiB)], 'file ', 6);
    expect(child.signal).toBe('SIGKILL');

    const store = new DirBlobStore(root);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    const digests = [...store.digests()];
    expect(digests.length).toBeGreaterThanOrEqual(6 * 64);
    for (const digest of digests) expect(store.verify(digest), digest).toBe(true);
    // Objects renamed into place but never indexed are garbage: compact removes them.
    store.compact();
    expect(objectFiles(root).length).toBe(digests.length / 64);
    expect(new Set(store.digests())).toEqual(new Set(digests));
  });
});
