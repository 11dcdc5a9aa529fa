import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError, TAR_END, importLayer, tarHeader, tarPadding } from '../../src/image/index.js';
import { inflateLayer } from '../../src/image/layer-inflate.js';
import { MemoryBlobStore } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';

const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A tar of one file of `size` seeded bytes. */
function tarOf(size: number): Buffer {
  return Buffer.concat([tarHeader({ path: 'data.bin', type: 'file', size }), seededBytes(size, 3), tarPadding(size), TAR_END]);
}

/** Pieces of `bytes`, as a network would hand them over. */
async function* pieces(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

describe('a layer inflated and hashed on a worker thread', () => {
  it('gives the tar and both digests of a gzip layer (several members too) and of a plain one', async () => {
    const tar = tarOf(3 * 1024 * 1024);
    const gzip = Buffer.concat([gzipSync(tar.subarray(0, 1_000_000)), gzipSync(tar.subarray(1_000_000))]);
    for (const [blob, compression] of [[gzip, 'gzip'], [tar, 'none']] as const) {
      const { tar: out, digests } = inflateLayer(pieces(blob), { maxSize: 2 ** 30, what: 'layer' });
      expect(Buffer.compare(await drain(out), tar)).toBe(0);
      expect(await digests).toEqual({ digest: sha(blob), diffId: sha(tar), size: blob.length, tarSize: tar.length, compression });
    }
  });

  it('refuses truncated gzip (EFORMAT), other compressions (EUNSUPPORTED) and a bomb past the limit (ELIMIT)', async () => {
    const gzip = gzipSync(tarOf(512 * 1024));
    const zeros = gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    const cases: [Uint8Array, string, RegExp][] = [
      [gzip.subarray(0, gzip.length - 100), 'EFORMAT', /layer is not valid gzip/],
      [Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]), 'EUNSUPPORTED', /zstd-compressed/],
      [zeros, 'ELIMIT', /larger than the limit of 16777216 bytes/],
    ];
    for (const [blob, code, message] of cases) {
      const { tar } = inflateLayer(pieces(blob), { maxSize: 16 * 1024 * 1024, what: 'layer' });
      const error = await drain(tar).catch((caught: Error) => caught);
      expect(error).toBeInstanceOf(ImageError);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
    }
  });

  it('a source that breaks: its own error, not a made-up one', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield gzipSync(tarOf(1024 * 1024)).subarray(0, 100_000);
      throw new Error('connection reset');
    }
    const error = await drain(inflateLayer(broken(), { maxSize: 2 ** 30, what: 'layer' }).tar).catch((caught: Error) => caught);
    expect((error as Error).message).toBe('connection reset');
  });

  it('importLayer of a big blob (inflated on the worker) equals the import on this thread', async () => {
    const blob = gzipSync(tarOf(9 * 1024 * 1024), { level: 1 });
    const here = await importLayer(new MemoryBlobStore(), pieces(blob));
    const there = await importLayer(new MemoryBlobStore(), pieces(blob), { size: 9 * 1024 * 1024 });
    expect({ ...there, layer: there.layer.id }).toEqual({ ...here, layer: here.layer.id });
  });
});
