import { describe, expect, it } from 'vitest';
import {
  type BaseBlobStore,
  BlobError,
  type Digest,
  DirBlobStore,
  MemoryBlobStore,
  putContent,
  readContent,
  toDigest,
} from '../../src/store/index.js';
import { seededBytes, text } from '../helpers/bytes.js';
import { corruptChunk, loseChunk } from '../helpers/store-faults.js';
import { tempDir } from '../helpers/tmp.js';

/** A memory store whose chosen blobs read back with one bit flipped, as failing RAM would. */
class TamperedMemoryStore extends MemoryBlobStore {
  readonly tampered = new Set<Digest>();

  protected override readRaw(digest: Digest): Uint8Array | undefined {
    const bytes = super.readRaw(digest);
    if (bytes === undefined || !this.tampered.has(digest)) return bytes;
    const flipped = bytes.slice();
    flipped[0]! ^= 1;
    return flipped;
  }

  protected override writeRaw(digest: Digest, bytes: Uint8Array): void {
    this.tampered.delete(digest);
    super.writeRaw(digest, bytes);
  }
}

interface Backend {
  store: BaseBlobStore;
  corrupt(digest: Digest): void;
  lose(digest: Digest): void;
}

const backends: [string, () => Backend][] = [
  [
    'memory',
    () => {
      const store = new TamperedMemoryStore();
      return { store, corrupt: (digest) => store.tampered.add(digest), lose: (digest) => store.delete(digest) };
    },
  ],
  [
    'directory',
    () => {
      const store = new DirBlobStore(tempDir(), { durable: false });
      return {
        store,
        corrupt: (digest) => corruptChunk(store, digest),
        lose: (digest) => loseChunk(store, digest),
      };
    },
  ],
];

describe.each(backends)('%s store faults', (_, open) => {
  it('a corrupt blob makes get throw a BlobError naming the digest', () => {
    const { store, corrupt } = open();
    const digest = store.put(text('precious'));
    corrupt(digest);
    const error = (() => {
      try {
        store.get(digest);
      } catch (caught) {
        return caught;
      }
      throw new Error('get returned corrupt bytes');
    })();
    expect(error).toBeInstanceOf(BlobError);
    expect(error).toMatchObject({ digest, fault: 'corrupt' });
    expect((error as Error).message).toContain(digest);
  });

  it('readInto reads a whole blob into place, refuses one larger than the room, and never passes bad bytes', () => {
    const { store, corrupt, lose } = open();
    const digest = store.put(text('0123456789'));
    const target = new Uint8Array(16).fill(7);
    expect(store.readInto(digest, target, 2, 10)).toBe(10);
    expect(Buffer.from(target.subarray(2, 12)).toString()).toBe('0123456789');
    expect(store.readInto(digest, target, 2, 12)).toBe(10); // a short blob: the caller zero-fills
    expect(store.readInto(digest, new Uint8Array(16), 0, 9)).toBe(-1); // spare space after the room
    expect(store.readInto(digest, new Uint8Array(9), 0, 9)).toBe(-1); // none
    corrupt(digest);
    expect(() => store.readInto(digest, new Uint8Array(32), 0, 32)).toThrow(expect.objectContaining({ digest, fault: 'corrupt' }));
    lose(digest);
    expect(() => store.readInto(digest, new Uint8Array(32), 0, 32)).toThrow(expect.objectContaining({ digest, fault: 'missing' }));
  });

  it('verify tells an intact blob from a corrupt or missing one', () => {
    const { store, corrupt } = open();
    const good = store.put(text('good'));
    const bad = store.put(text('bad'));
    corrupt(bad);
    expect(store.verify(good)).toBe(true);
    expect(store.verify(bad)).toBe(false);
    expect(store.verify(toDigest(12345n))).toBe(false);
  });

  it('a missing blob is a BlobError "missing"', () => {
    const { store, lose } = open();
    expect(() => store.get(toDigest(12345n))).toThrow(expect.objectContaining({ name: 'BlobError', fault: 'missing' }));
    const digest = store.put(text('lost'));
    lose(digest);
    expect(() => store.get(digest)).toThrow(expect.objectContaining({ digest, fault: 'missing' }));
  });

  it('reading content over a corrupt chunk throws instead of returning wrong bytes', () => {
    const { store, corrupt } = open();
    const content = putContent(store, seededBytes(64, 3), 16);
    corrupt(content.chunks[2]!);
    expect(readContent(store, content, 0, 32)).toHaveLength(32);
    expect(() => readContent(store, content)).toThrow(BlobError);
  });

  it('putting the same file again repairs a corrupt chunk of it', () => {
    const { store, corrupt } = open();
    const bytes = seededBytes(64, 4);
    const content = putContent(store, bytes, 16);
    corrupt(content.chunks[1]!);
    expect(putContent(store, bytes, 16)).toEqual(content);
    for (const digest of content.chunks) expect(store.verify(digest!)).toBe(true);
    expect(Buffer.compare(readContent(store, content), bytes)).toBe(0);
  });

  it('putting the same bytes again repairs a corrupt blob', () => {
    const { store, corrupt } = open();
    const bytes = text('repair me');
    const digest = store.put(bytes);
    corrupt(digest);
    expect(store.put(bytes)).toBe(digest);
    expect(store.verify(digest)).toBe(true);
    expect(Buffer.from(store.get(digest)).toString()).toBe('repair me');
  });
});
