import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * A tar file's bytes as a stream, gunzipped when the file starts with gzip's magic (as `tar xf`
 * does, whatever the name says). `onRead` gets the count of file bytes read so far, for a
 * progress bar against the file's size.
 */
export function tarFileSource(file: string, onRead?: (bytes: number) => void): AsyncIterable<Uint8Array> {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const raw = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  let read = 0;
  const counted = async function* (): AsyncIterable<Uint8Array> {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      read += chunk.length;
      onRead?.(read);
      yield chunk;
    }
  };
  if (!gzip) return counted();
  const gunzip = zlib.createGunzip();
  // pipeline, not pipe: a read error must reach the consumer instead of leaving it waiting.
  pipeline(counted(), gunzip).catch((error: unknown) => gunzip.destroy(error as Error));
  return gunzip;
}
