import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../src/store/index.js';
import { text } from '../helpers/bytes.js';

// Every content hashes to 42: only the byte comparison keeps contents apart.
const colliding = () => new MemoryBlobStore({ hash: () => 42n });

describe('hash collisions', () => {
  it('give two different contents two different digests', () => {
    const store = colliding();
    const first = store.put(text('first'));
    const second = store.put(text('second'));
    expect(first).toBe('xxh64:000000000000002a');
    expect(second).toBe('xxh64:000000000000002a~1');
  });

  it('never alias: each digest reads back its own bytes', () => {
    const store = colliding();
    const digests = ['a', 'b', 'c', 'd'].map((name) => store.put(text(name)));
    expect(new Set(digests).size).toBe(4);
    expect(digests[3]).toBe('xxh64:000000000000002a~3');
    expect(digests.map((digest) => Buffer.from(store.get(digest)).toString())).toEqual(['a', 'b', 'c', 'd']);
  });

  it('still deduplicate the same content put twice', () => {
    const store = colliding();
    const first = store.put(text('first'));
    const second = store.put(text('second'));
    expect(store.put(text('second'))).toBe(second);
    expect(store.put(text('first'))).toBe(first);
    expect(store.stats().blobs).toBe(2);
  });

  it('fill the hole a deleted colliding blob leaves without aliasing', () => {
    const store = colliding();
    const first = store.put(text('first'));
    const second = store.put(text('second'));
    store.delete(first);
    const third = store.put(text('third'));
    expect(third).toBe(first);
    expect(Buffer.from(store.get(third)).toString()).toBe('third');
    expect(Buffer.from(store.get(second)).toString()).toBe('second');
  });
});
