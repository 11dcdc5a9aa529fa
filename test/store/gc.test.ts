import { describe, expect, it } from 'vitest';
import { DirBlobStore, MemoryBlobStore, collectGarbage } from '../../src/store/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';

describe.each([
  ['memory', () => new MemoryBlobStore()],
  ['directory', () => new DirBlobStore(tempDir(), { durable: false })],
])('collectGarbage on the %s store', (_, open) => {
  it('deletes exactly the blobs that are not live', () => {
    const store = open();
    const [a, b, c, d] = [10, 20, 30, 40].map((size) => store.put(seededBytes(size, size)));
    const result = collectGarbage(store, new Set([a!, c!]));
    expect(result).toEqual({ deleted: 2, freedBytes: 20 + 40 });
    expect(new Set(store.digests())).toEqual(new Set([a, c]));
    expect(store.has(b!) || store.has(d!)).toBe(false);
    expect(store.get(a!)).toHaveLength(10);
  });

  it('deletes nothing when everything is live', () => {
    const store = open();
    const live = new Set([1, 2, 3].map((seed) => store.put(seededBytes(8, seed))));
    expect(collectGarbage(store, live)).toEqual({ deleted: 0, freedBytes: 0 });
    expect(store.stats().blobs).toBe(3);
  });

  it('ignores live digests the store does not hold', () => {
    const store = open();
    const kept = store.put(seededBytes(8, 1));
    const gone = store.put(seededBytes(8, 2));
    store.delete(gone);
    expect(collectGarbage(store, new Set([kept, gone]))).toEqual({ deleted: 0, freedBytes: 0 });
  });
});
