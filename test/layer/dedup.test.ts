import { describe, expect, it } from 'vitest';
import { Layer, layerFromSpec } from '../../src/layer/index.js';
import { MemoryBlobStore, collectGarbage, readContent } from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';

describe('layers sharing content', () => {
  it('store shared files once', () => {
    const store = new MemoryBlobStore();
    const big = seededBytes(1024 * 1024, 1);
    const small = seededBytes(1000, 2);
    const a = layerFromSpec(store, { '/usr/lib/big': big, '/etc/small': small, '/a-only': seededBytes(500, 3) });
    const before = store.stats();
    const b = layerFromSpec(store, { '/opt/copy-of-big': big, '/etc/small': small, '/b-only': seededBytes(700, 4) });
    const after = store.stats();
    // Only b's own file and b's encoding are new.
    expect(after.storedBytes - before.storedBytes).toBe(700 + store.size(b.id));
    expect(after.blobs - before.blobs).toBe(2);
    expect(after.storedBytes).toBe(big.length + small.length + 500 + 700 + store.size(a.id) + store.size(b.id));
    expect(after.dedupRatio).toBeGreaterThan(1.9);
  });

  it('share chunks between files that differ only in part', () => {
    const store = new MemoryBlobStore();
    const original = seededBytes(10 * 65536, 5);
    const edited = original.slice();
    edited[3 * 65536 + 17] = original[3 * 65536 + 17]! ^ 0xff;
    layerFromSpec(store, { '/v1': original });
    const before = store.stats().storedBytes;
    const layer = layerFromSpec(store, { '/v2': edited });
    expect(store.stats().storedBytes - before).toBe(65536 + store.size(layer.id));
  });

  it('survive garbage collection of a dropped layer that shared them', () => {
    const store = new MemoryBlobStore();
    const shared = seededBytes(300_000, 6);
    const kept = layerFromSpec(store, { '/shared': shared, '/kept': 'kept only' });
    const dropped = layerFromSpec(store, { '/shared': shared, '/dropped': seededBytes(5000, 7) });
    const droppedOwn = 5000 + store.size(dropped.id);
    const result = collectGarbage(store, kept.digests());
    expect(result).toEqual({ deleted: 2, freedBytes: droppedOwn });
    expect(store.has(dropped.id)).toBe(false);
    const reloaded = Layer.load(store, kept.id);
    const inode = reloaded.inode(reloaded.lookup('/shared')!);
    if (inode.kind !== 'file') throw new Error('not a file');
    expectBytes(readContent(store, inode.content), shared);
  });
});
