import { describe, expect, it } from 'vitest';
import {
  type Content,
  DEFAULT_CHUNK_SIZE,
  type Digest,
  MemoryBlobStore,
  chunkCount,
  contentDigests,
  isAllZero,
  putContent,
  readChunk,
  readContent,
  readContentInto,
} from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';

describe.each([
  ['a small chunk size', 16],
  ['the default chunk size', DEFAULT_CHUNK_SIZE],
])('chunked content with %s', (_, chunkSize) => {
  const sizes = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize + 5];

  it.each(sizes)('round-trips %i bytes', (size) => {
    const store = new MemoryBlobStore();
    const bytes = seededBytes(size, size + 1);
    const content = putContent(store, bytes, chunkSize);
    expect(content.size).toBe(size);
    expect(content.chunkSize).toBe(chunkSize);
    expect(content.chunks).toHaveLength(chunkCount(size, chunkSize));
    expectBytes(readContent(store, content), bytes);
  });

  it('cuts at exact multiples of the chunk size; only the last chunk is short', () => {
    const store = new MemoryBlobStore();
    const content = putContent(store, seededBytes(3 * chunkSize + 5, 3), chunkSize);
    const lengths = content.chunks.map((digest) => store.size(digest!));
    expect(lengths).toEqual([chunkSize, chunkSize, chunkSize, 5]);
  });

  it('keeps content no larger than one chunk in a single blob', () => {
    const store = new MemoryBlobStore();
    expect(putContent(store, seededBytes(chunkSize, 4), chunkSize).chunks).toHaveLength(1);
    expect(store.stats().blobs).toBe(1);
  });

  it('reads any range at any offset, clipped at the end', () => {
    const store = new MemoryBlobStore();
    const bytes = seededBytes(3 * chunkSize + 5, 5);
    const content = putContent(store, bytes, chunkSize);
    const points = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize + 3, bytes.length - 1, bytes.length];
    for (const offset of points) {
      for (const length of [0, 1, 2, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize + 7, bytes.length]) {
        expectBytes(readContent(store, content, offset, length), bytes.subarray(offset, offset + length));
      }
    }
    expectBytes(readContent(store, content, bytes.length + 10, 5), new Uint8Array(0));
  });

  it('reads into a target at an offset and says how many bytes there were', () => {
    const store = new MemoryBlobStore();
    const bytes = seededBytes(2 * chunkSize, 6);
    const content = putContent(store, bytes, chunkSize);
    const target = new Uint8Array(chunkSize + 10).fill(0xee);
    const count = readContentInto(store, content, chunkSize + 1, chunkSize + 100, target, 3);
    expect(count).toBe(chunkSize - 1);
    expectBytes(target.subarray(0, 3), new Uint8Array(3).fill(0xee));
    expectBytes(target.subarray(3, 3 + count), bytes.subarray(chunkSize + 1));
    expectBytes(target.subarray(3 + count), new Uint8Array(target.length - 3 - count).fill(0xee));
  });

  it('stores identical chunks once', () => {
    const store = new MemoryBlobStore();
    const chunk = seededBytes(chunkSize, 9);
    const bytes = new Uint8Array(4 * chunkSize);
    for (let i = 0; i < 4; i++) bytes.set(chunk, i * chunkSize);
    const content = putContent(store, bytes, chunkSize);
    expect(new Set(content.chunks).size).toBe(1);
    expect(store.stats()).toMatchObject({ blobs: 1, storedBytes: chunkSize, logicalBytes: 4 * chunkSize, dedupRatio: 4 });
  });
});

describe('holes', () => {
  it('are chunks of zeros: no blob is stored for them', () => {
    const store = new MemoryBlobStore();
    const bytes = new Uint8Array(4 * 16 + 3);
    bytes.set(seededBytes(16, 1), 16);
    const content = putContent(store, bytes, 16);
    expect(content.chunks.map((digest) => digest !== null)).toEqual([false, true, false, false, false]);
    expect(store.stats().blobs).toBe(1);
    expect([...contentDigests(content)]).toEqual([content.chunks[1]]);
    expectBytes(readContent(store, content), bytes);
  });

  it('make an all-zero file cost nothing', () => {
    const store = new MemoryBlobStore();
    const content = putContent(store, new Uint8Array(10 * DEFAULT_CHUNK_SIZE + 1));
    expect(content.chunks.every((digest) => digest === null)).toBe(true);
    expect(store.stats().blobs).toBe(0);
    expectBytes(readChunk(store, content, 10), new Uint8Array(1));
  });

  it('are recognised at every length', () => {
    for (const length of [0, 1, 7, 4096, DEFAULT_CHUNK_SIZE, 2 * DEFAULT_CHUNK_SIZE + 1]) {
      const bytes = new Uint8Array(length);
      expect(isAllZero(bytes)).toBe(true);
      if (length > 0) {
        bytes[length - 1] = 1;
        expect(isAllZero(bytes)).toBe(false);
      }
    }
  });

  it('let a 5 GiB sparse file read zeros at the start and its data at the end for one blob', () => {
    const store = new MemoryBlobStore();
    const chunkSize = DEFAULT_CHUNK_SIZE;
    const size = 5 * 2 ** 30;
    const tail = seededBytes(chunkSize, 5);
    const count = size / chunkSize;
    expect(count).toBe(81920);
    const chunks: (Digest | null)[] = new Array<Digest | null>(count - 1).fill(null);
    chunks.push(store.put(tail));
    const content: Content = { size, chunkSize, chunks };

    expectBytes(readContent(store, content, 0, 4096), new Uint8Array(4096));
    expectBytes(readContent(store, content, 2 ** 32 + 12345, 100), new Uint8Array(100));
    expectBytes(readContent(store, content, size - chunkSize, chunkSize), tail);
    expectBytes(readContent(store, content, size - 10, 100), tail.subarray(chunkSize - 10));
    const across = readContent(store, content, size - chunkSize - 5, 10);
    expectBytes(across, Uint8Array.of(0, 0, 0, 0, 0, ...tail.subarray(0, 5)));
    expectBytes(readChunk(store, content, count - 1), tail);
    expect(store.stats()).toMatchObject({ blobs: 1, storedBytes: chunkSize });
  });
});

describe('short chunks', () => {
  it('read as zeros past the stored bytes (a file grown by truncate)', () => {
    const store = new MemoryBlobStore();
    const digest = store.put(Uint8Array.of(1, 2, 3));
    const content: Content = { size: 10, chunkSize: 8, chunks: [digest] };
    expectBytes(readContent(store, content), Uint8Array.of(1, 2, 3, 0, 0, 0, 0, 0, 0, 0));
    expectBytes(readChunk(store, content, 0), Uint8Array.of(1, 2, 3, 0, 0, 0, 0, 0));
    expectBytes(readChunk(store, content, 1), Uint8Array.of(0, 0));
    expectBytes(readChunk(store, content, 2), new Uint8Array(0));
  });
});

it('rejects a chunk size that is not a positive integer', () => {
  const store = new MemoryBlobStore();
  for (const chunkSize of [0, -1, 1.5, Number.NaN]) {
    expect(() => putContent(store, Uint8Array.of(1), chunkSize)).toThrow(RangeError);
  }
});
