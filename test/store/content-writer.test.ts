import { describe, expect, it } from 'vitest';
import { ContentWriter, MemoryBlobStore, putContent } from '../../src/store/index.js';
import { seededBytes } from '../helpers/bytes.js';

describe('ContentWriter', () => {
  it.each([1, 7, 15, 16, 17, 100, 1000])('gives the content putContent gives, fed in pieces of %i bytes', (piece) => {
    const store = new MemoryBlobStore();
    const bytes = seededBytes(16 * 20 + 5, piece);
    bytes.fill(0, 32, 64); // two holes
    const writer = new ContentWriter(store, 16);
    for (let at = 0; at < bytes.length; at += piece) writer.write(bytes.subarray(at, at + piece));
    expect(writer.finish()).toEqual(putContent(new MemoryBlobStore(), bytes, 16));
  });

  it('gives empty content for no bytes', () => {
    expect(new ContentWriter(new MemoryBlobStore(), 16).finish()).toEqual({ size: 0, chunkSize: 16, chunks: [] });
  });

  it('keeps no reference to the bytes it was given', () => {
    const store = new MemoryBlobStore();
    const writer = new ContentWriter(store, 4);
    const bytes = Uint8Array.of(1, 2, 3, 4, 5, 6);
    writer.write(bytes);
    bytes.fill(9);
    const content = writer.finish();
    expect(content.chunks.map((digest) => [...store.get(digest!)])).toEqual([[1, 2, 3, 4], [5, 6]]);
  });
});
