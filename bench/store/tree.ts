import { prng, seededBytes } from '../lib/prng.js';

/** One generated file; duplicates share the very same bytes object with their original. */
export interface TreeFile {
  path: string;
  bytes: Uint8Array;
  /** How the file came about, for the summary. */
  origin: 'small' | 'medium' | 'large' | 'duplicate' | 'variant' | 'sparse';
}

export interface Tree {
  files: TreeFile[];
  /** Sum of every file's length: what an import is handed. */
  logicalBytes: number;
  /** Bytes of generated data before duplication (what an ideal store of files would keep, zeros included). */
  uniqueBytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A seeded tree of about `totalBytes`, in memory: by bytes about 20% small files (256 B to
 * 16 KiB), 30% medium (16 KiB to 1 MiB), 45% large (4 to 64 MiB, a fifth of them variants of an
 * earlier large file with a few 4 KiB edits), a sparse file that is half zeros, and about 6% of
 * files exact duplicates of an earlier one, as package trees have.
 */
export function generateTree(totalBytes: number, seed: number): Tree {
  const random = prng(seed);
  const between = (low: number, high: number) => Math.floor(low + random() * (high - low));
  const files: TreeFile[] = [];
  let logicalBytes = 0;
  let uniqueBytes = 0;
  let nextSeed = seed * 7919 + 1;
  const add = (path: string, bytes: Uint8Array, origin: TreeFile['origin'], fresh: number) => {
    files.push({ path, bytes, origin });
    logicalBytes += bytes.length;
    uniqueBytes += fresh;
  };
  const fresh = (size: number) => seededBytes(nextSeed++, size);
  const maybeDuplicate = (dir: string) => {
    if (random() >= 0.06 || files.length === 0) return;
    const original = files[between(0, files.length)]!;
    // Large originals are copied as variants instead; an exact copy of one would dominate the dedup.
    if (original.bytes.length > MiB) return;
    add(`${dir}/copy-${files.length}`, original.bytes, 'duplicate', 0);
  };

  const large: Uint8Array[] = [];
  while (logicalBytes < totalBytes * 0.45) {
    const dir = `/opt/data/set-${large.length % 8}`;
    const base = large.length > 0 && random() < 0.2 ? large[between(0, large.length)] : undefined;
    if (base) {
      const variant = base.slice();
      const edits = between(1, 5);
      for (let i = 0; i < edits; i++) variant.set(fresh(4 * KiB), between(0, variant.length - 4 * KiB));
      add(`${dir}/variant-${files.length}.bin`, variant, 'variant', edits * 4 * KiB);
    } else {
      const size = Math.max(MiB, Math.min(between(4 * MiB, 64 * MiB), Math.floor(totalBytes * 0.45 - logicalBytes)));
      const bytes = fresh(size);
      large.push(bytes);
      add(`${dir}/blob-${files.length}.bin`, bytes, 'large', size);
    }
  }
  const sparseSize = Math.max(MiB, Math.floor(totalBytes * 0.05));
  const sparse = new Uint8Array(sparseSize);
  sparse.set(fresh(sparseSize >> 1), sparseSize >> 2);
  add('/var/lib/db/sparse.db', sparse, 'sparse', sparseSize);
  let pkg = 0;
  while (logicalBytes < totalBytes * 0.8) {
    const dir = `/usr/lib/pkg-${pkg++ % 500}`;
    const size = between(16 * KiB, MiB);
    add(`${dir}/lib-${files.length}.so`, fresh(size), 'medium', size);
    maybeDuplicate(dir);
  }
  while (logicalBytes < totalBytes) {
    const dir = `/usr/share/pkg-${pkg++ % 2000}`;
    const size = between(256, 16 * KiB);
    add(`${dir}/file-${files.length}.txt`, fresh(size), 'small', size);
    maybeDuplicate(dir);
  }
  return { files, logicalBytes, uniqueBytes };
}
