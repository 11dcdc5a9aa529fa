import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../src/store/index.js';
import { seededBytes, text } from '../helpers/bytes.js';

describe('put and get', () => {
  it('reads back exactly the bytes that were put', () => {
    const store = new MemoryBlobStore();
    const bytes = seededBytes(1000, 1);
    const digest = store.put(bytes);
    expect(store.has(digest)).toBe(true);
    expect(store.get(digest)).toEqual(bytes);
    expect(store.size(digest)).toBe(1000);
  });

  it('stores an empty blob', () => {
    const store = new MemoryBlobStore();
    const digest = store.put(new Uint8Array(0));
    expect(store.get(digest)).toEqual(new Uint8Array(0));
  });

  it('keeps its own copy: changing the caller buffer after put changes nothing', () => {
    const store = new MemoryBlobStore();
    const bytes = text('original');
    const digest = store.put(bytes);
    bytes[0] = 0;
    expect(Buffer.from(store.get(digest)).toString()).toBe('original');
  });

  it('stores the same bytes once however often they are put', () => {
    const store = new MemoryBlobStore();
    const a = store.put(text('same bytes'));
    const b = store.put(text('same bytes'));
    expect(b).toBe(a);
    expect([...store.digests()]).toEqual([a]);
  });

  it('counts blobs, stored bytes, logical bytes and the dedup ratio', () => {
    const store = new MemoryBlobStore();
    expect(store.stats()).toEqual({ blobs: 0, storedBytes: 0, logicalBytes: 0, dedupRatio: 1 });
    const hundred = seededBytes(100, 7);
    const fifty = seededBytes(50, 8);
    store.put(hundred);
    store.put(hundred);
    store.put(hundred);
    store.put(fifty);
    expect(store.stats()).toEqual({ blobs: 2, storedBytes: 150, logicalBytes: 350, dedupRatio: 350 / 150 });
  });

  it('forgets a deleted blob', () => {
    const store = new MemoryBlobStore();
    const digest = store.put(text('gone soon'));
    store.delete(digest);
    expect(store.has(digest)).toBe(false);
    expect(store.stats().blobs).toBe(0);
  });
});
