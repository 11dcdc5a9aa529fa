import * as fs from 'node:fs';
import type { Digest, DirBlobStore } from '../../src/store/index.js';

/** Flips a bit of a stored chunk where it lies (its own blob file, or its range of an object), as a failing disk would. */
export function corruptChunk(store: DirBlobStore, digest: Digest): void {
  const place = store.locate(digest);
  if (!place) throw new Error(`${digest} is not stored`);
  fs.chmodSync(place.file, 0o644); // objects are read-only files
  const fd = fs.openSync(place.file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, place.offset);
    byte[0]! ^= 1;
    fs.writeSync(fd, byte, 0, 1, place.offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes the file a chunk lies in (with an object, every chunk of it goes). */
export function loseChunk(store: DirBlobStore, digest: Digest): void {
  const place = store.locate(digest);
  if (!place) throw new Error(`${digest} is not stored`);
  fs.rmSync(place.file);
}
