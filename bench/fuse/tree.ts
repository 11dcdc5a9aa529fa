import * as fs from 'node:fs';
import * as path from 'node:path';
import { prng, seededBytes } from '../lib/prng.js';

export interface TreePlan {
  /** Files under `tree/` (the big file comes on top). */
  files: number;
  /** Bytes of those files together. */
  bytes: number;
  /** Size of `big.bin`, read sequentially. */
  bigBytes: number;
  seed: number;
}

export interface TreeInfo {
  /** Files under `tree/`. */
  files: number;
  /** Directories under `tree/`, itself included. */
  dirs: number;
  /** Bytes of the files under `tree/`. */
  bytes: number;
  smallest: number;
  largest: number;
  bigBytes: number;
}

/** How many files a directory holds, and how many directories a parent. */
const FILES_PER_DIR = 25;
const DIRS_PER_PARENT = 20;

/**
 * Writes the benchmark tree into `root`: `big.bin` (one large file of random bytes) and `tree/`,
 * `files` files of random bytes in two levels of directories (25 files to a directory, 20
 * directories to a parent), sizes log-uniform over three decades (about 0.007x to 7x the mean),
 * scaled so they add up to `bytes`. Random bytes: no system can compress or deduplicate them.
 */
export function writeTree(root: string, plan: TreePlan): TreeInfo {
  const random = prng(plan.seed);
  const weights = Array.from({ length: plan.files }, () => 1000 ** random());
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const sizes = weights.map((weight) => Math.max(1, Math.round((plan.bytes * weight) / total)));
  const dirs = new Set<string>(['tree']);
  let bytes = 0;
  for (const [index, size] of sizes.entries()) {
    const leaf = Math.floor(index / FILES_PER_DIR);
    const dir = `tree/p${Math.floor(leaf / DIRS_PER_PARENT)}/d${leaf % DIRS_PER_PARENT}`;
    if (!dirs.has(dir)) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
      dirs.add(dir.slice(0, dir.lastIndexOf('/')));
      dirs.add(dir);
    }
    fs.writeFileSync(path.join(root, dir, `f${index}.dat`), seededBytes(plan.seed * 1_000_003 + index, size));
    bytes += size;
  }
  fs.mkdirSync(path.join(root, 'tree'), { recursive: true });
  // The big file in slices: a 256 MiB Uint32Array at once would be fine too, but need not be.
  const fd = fs.openSync(path.join(root, 'big.bin'), 'w');
  try {
    const slice = 16 * 1024 * 1024;
    for (let at = 0, part = 0; at < plan.bigBytes; at += slice, part++) {
      fs.writeSync(fd, seededBytes(plan.seed ^ (0x5eed0000 + part), Math.min(slice, plan.bigBytes - at)));
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    files: plan.files,
    dirs: dirs.size,
    bytes,
    smallest: Math.min(...sizes),
    largest: Math.max(...sizes),
    bigBytes: plan.bigBytes,
  };
}
