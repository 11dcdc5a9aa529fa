import * as fs from 'node:fs';
import * as os from 'node:os';
import { NAME_MAX } from '../layer/index.js';
import { type BlobStore, DirBlobStore } from '../store/index.js';

/** statfs(2) of a view: sizes in blocks of `bsize` bytes, inode counts, the longest name. */
export interface Space {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
}

const BLOCK = 4096;
/** Inode numbers a container can use: `mount --all` gives each a range of 2^32. */
const INODE_RANGE = 2 ** 32;

/**
 * What statfs answers for a view over `store` with `inodesUsed` inode numbers taken. The sizes are
 * those of where the blobs live, as overlayfs reports its upper filesystem's: the filesystem of a
 * directory store; for a memory store, its blobs' bytes used and the machine's free memory free.
 */
export function spaceOf(store: BlobStore, inodesUsed: number): Space {
  let blocks: number;
  let bfree: number;
  let bavail: number;
  if (store instanceof DirBlobStore) {
    const host = fs.statfsSync(store.root);
    const scale = host.bsize / BLOCK;
    [blocks, bfree, bavail] = [host.blocks * scale, host.bfree * scale, host.bavail * scale].map(Math.floor) as [number, number, number];
  } else {
    // In memory: what the blobs hold is used, the machine's free memory is free.
    bfree = bavail = Math.floor(os.freemem() / BLOCK);
    blocks = Math.ceil(store.stats().storedBytes / BLOCK) + bfree;
  }
  return { bsize: BLOCK, blocks, bfree, bavail, files: INODE_RANGE, ffree: Math.max(0, INODE_RANGE - inodesUsed), namelen: NAME_MAX };
}
