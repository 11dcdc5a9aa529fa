import xxhash from 'xxhash-wasm';
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, isDigest, parseDigest, toDigest, xxh64 } from '../../src/store/index.js';
import { seededBytes } from '../helpers/bytes.js';

const { h64Raw } = await xxhash();

describe('digest', () => {
  it('is xxh64: followed by 16 lowercase hex digits', () => {
    const digest = new MemoryBlobStore().put(new TextEncoder().encode('hello'));
    expect(digest).toMatch(/^xxh64:[0-9a-f]{16}$/);
    expect(isDigest(digest)).toBe(true);
  });

  it('is the standard xxh64 of the bytes (seed 0)', () => {
    // The reference value of XXH64("") with seed 0.
    expect(toDigest(xxh64(new Uint8Array(0)))).toBe('xxh64:ef46db3751d8e999');
  });

  it('pads small hashes to 16 digits', () => {
    expect(toDigest(42n)).toBe('xxh64:000000000000002a');
  });

  it('hashes large inputs slice by slice to the same value as one call', () => {
    for (const length of [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1_000_003]) {
      const bytes = seededBytes(length, length);
      expect(xxh64(bytes)).toBe(h64Raw(bytes));
    }
  });

  it('marks a collision with a ~N suffix that parses back', () => {
    const digest = toDigest(0xabcn, 2);
    expect(digest).toBe('xxh64:0000000000000abc~2');
    expect(parseDigest(digest)).toEqual({ hash: 0xabcn, collision: 2 });
  });

  it('rejects strings that are not digests', () => {
    for (const text of ['xxh64:123', 'sha256:0000000000000000', 'xxh64:000000000000002A', 'xxh64:000000000000002a~0', 'xxh64:000000000000002a~']) {
      expect(isDigest(text)).toBe(false);
      expect(() => parseDigest(text)).toThrow(TypeError);
    }
  });
});
