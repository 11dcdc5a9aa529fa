import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ImageError } from './errors.js';

/**
 * Layer compression. Import sniffs the bytes (as docker does) rather than trusting a media type or
 * a file name, and streams gzip through node:zlib with backpressure: memory stays at a few zlib
 * buffers however far a gzip bomb expands, and a size limit stops it. Export writes gzip with
 * fixed settings and a fixed header, so the same tar always gives the same bytes.
 */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

const MAGIC: readonly [Compression, readonly number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

export function sniffCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) if (magic.every((byte, at) => head[at] === byte)) return kind;
  return 'none';
}

/** The first `count` bytes (fewer at the end) and the whole stream again, nothing consumed. */
export async function peek(source: AsyncIterable<Uint8Array>, count: number): Promise<[Uint8Array, AsyncIterable<Uint8Array>]> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < count) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    seen.push(next.value);
    have += next.value.length;
  }
  const head = Buffer.concat(seen).subarray(0, count);
  const rest = async function* () {
    yield* seen;
    if (done) return;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  };
  return [head, rest()];
}

/** Bytes up to `maxSize`; more is an ELIMIT ImageError naming `what`. */
export async function* limitSize(source: AsyncIterable<Uint8Array>, maxSize: number, what: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > maxSize) throw tooBig(what, maxSize);
    yield chunk;
  }
}

/**
 * Decompresses gzip (several members too, as gzip -d does) as the consumer reads, stopping with
 * an ELIMIT ImageError past `maxSize` decompressed bytes; corrupt or truncated data is EFORMAT.
 */
export async function* gunzip(source: AsyncIterable<Uint8Array>, maxSize: number, what: string): AsyncGenerator<Uint8Array> {
  // Large output pieces: each one is a round trip to zlib's thread, and a layer has millions of KiB.
  const inflater = zlib.createGunzip({ chunkSize: 256 * 1024 });
  // A source error destroys the inflater with it, so it surfaces in the loop below.
  const feeding = pipeline(source, inflater).catch(() => {});
  let total = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxSize) throw tooBig(what, maxSize);
      yield chunk;
    }
  } catch (error) {
    if (isZlibError(error)) throw new ImageError('EFORMAT', `${what} is not valid gzip: ${error.message}`, { cause: error });
    throw error;
  } finally {
    // Wait until the pipeline has returned the source: a reader still pending on a shared
    // source (a member of an outer tar) would steal bytes from whoever reads it next.
    inflater.destroy();
    await feeding;
  }
}

/**
 * Gzip with fixed settings (level 6, no name, mtime 0) and the OS byte set to 255 ("unknown", as
 * Go writes it), so the output does not depend on the platform: the same input always gives the
 * same bytes with the same zlib.
 */
export async function* gzip(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const deflater = zlib.createGzip({ level: 6, memLevel: 8, strategy: zlib.constants.Z_DEFAULT_STRATEGY, chunkSize: 64 * 1024 });
  const feeding = pipeline(source, deflater).catch(() => {});
  let offset = 0;
  try {
    for await (const chunk of deflater as AsyncIterable<Buffer>) {
      if (offset <= OS_BYTE && OS_BYTE < offset + chunk.length) chunk[OS_BYTE - offset] = 255;
      offset += chunk.length;
      yield chunk;
    }
  } finally {
    deflater.destroy();
    await feeding;
  }
}

const OS_BYTE = 9;

function isZlibError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}

function tooBig(what: string, maxSize: number): ImageError {
  return new ImageError('ELIMIT', `${what} is larger than the limit of ${maxSize} bytes uncompressed (a gzip bomb, or raise maxSize)`);
}
