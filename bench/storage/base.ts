import * as fs from 'node:fs';
import * as path from 'node:path';
import { LayerBuilder, type BlobStore, type Layer } from '../../src/index.js';
import { prng, seededBytes } from '../lib/prng.js';

/** One entry of a generated root filesystem; file bytes come from (seed, size) when needed. */
export type BaseEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; size: number; seed: number; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'link'; path: string; target: string };

export interface BasePlan {
  entries: BaseEntry[];
  /** Bytes of file content, each inode counted once. */
  bytes: number;
  files: number;
  /** Small files a change set may edit, delete or chmod. */
  smallFiles: string[];
  /** Directories of a few files that a change set may delete whole. */
  docDirs: string[];
  /** The large file each container writes 4 KiB into. */
  database: { path: string; size: number };
}

const MiB = 2 ** 20;

/**
 * A seeded tree shaped like a root filesystem: tens of thousands of small files in package
 * folders, shared libraries of a few hundred KiB, a few large files, symlinks, hard links, and a
 * few percent of duplicate files (as distributions have).
 */
export function planBase(totalBytes: number, seed: number): BasePlan {
  const random = prng(seed);
  const between = (low: number, high: number) => Math.floor(low + random() * (high - low));
  const entries: BaseEntry[] = [];
  const smallFiles: string[] = [];
  const docDirs: string[] = [];
  let bytes = 0;
  let files = 0;
  let nextSeed = seed * 7919 + 1;
  const addFile = (filePath: string, size: number, mode = 0o644, fileSeed = nextSeed++) => {
    entries.push({ kind: 'file', path: filePath, size, seed: fileSeed, mode });
    bytes += size;
    files++;
    return fileSeed;
  };
  for (const dir of ['/bin', '/etc', '/usr/bin', '/usr/lib', '/usr/share/doc', '/var/lib/db', '/var/log', '/opt/app', '/home/user', '/tmp']) {
    entries.push({ kind: 'dir', path: dir });
  }
  // About 30% in a few large files; the database every container writes into is the first.
  const database = { path: '/var/lib/db/data.db', size: Math.max(MiB, Math.min(16 * MiB, Math.floor(totalBytes / 64))) };
  addFile(database.path, database.size, 0o600);
  while (bytes < totalBytes * 0.3) {
    addFile(`/opt/app/blob-${files}.bin`, Math.min(between(4 * MiB, 48 * MiB), Math.max(MiB, Math.floor(totalBytes * 0.3 - bytes))));
  }
  // About 35% in shared libraries and binaries of 64 KiB to 2 MiB, spread over packages.
  let pkg = 0;
  const recent: { seed: number; size: number }[] = [];
  while (bytes < totalBytes * 0.65) {
    const dir = `/usr/lib/pkg${pkg}`;
    entries.push({ kind: 'dir', path: dir });
    for (let i = 0; i < 3 && bytes < totalBytes * 0.65; i++) {
      addFile(`${dir}/lib${i}.so`, between(64 * 1024, 2 * MiB), 0o755);
    }
    entries.push({ kind: 'symlink', path: `/usr/bin/tool${pkg}`, target: `../lib/pkg${pkg}/lib0.so` });
    pkg++;
  }
  // The rest in small files (docs, configs, scripts), a few of them duplicates or hard links.
  let doc = 0;
  while (bytes < totalBytes) {
    const dir = `/usr/share/doc/pkg${doc}`;
    entries.push({ kind: 'dir', path: dir });
    docDirs.push(dir);
    const count = between(3, 12);
    for (let i = 0; i < count && bytes < totalBytes; i++) {
      const filePath = `${dir}/${i === 0 ? 'README' : `file${i}.txt`}`;
      const size = Math.min(Math.floor(Math.exp(between(500, 1080) / 100)), 64 * 1024);
      if (recent.length > 0 && random() < 0.03) {
        // A duplicate: same bytes as a recent file, stored once.
        const original = recent[between(0, recent.length)]!;
        addFile(filePath, original.size, 0o644, original.seed);
      } else if (i > 0 && random() < 0.005) {
        entries.push({ kind: 'link', path: filePath, target: `${dir}/README` });
      } else {
        recent.push({ seed: addFile(filePath, size), size });
        if (recent.length > 64) recent.shift();
        smallFiles.push(filePath);
      }
    }
    doc++;
  }
  for (let i = 0; i < 200; i++) addFile(`/etc/conf${i}.conf`, between(100, 2000));
  return { entries, bytes, files, smallFiles, docDirs, database };
}

/** Imports the planned tree into a layer, reporting progress in content bytes. */
export function buildBaseLayer(store: BlobStore, plan: BasePlan, chunkSize: number, onProgress?: (done: number) => void): Layer {
  const builder = new LayerBuilder(store, { chunkSize, time: 1_700_000_000_000_000_000n });
  let done = 0;
  for (const entry of plan.entries) {
    switch (entry.kind) {
      case 'dir':
        builder.dir(entry.path);
        break;
      case 'file':
        builder.file(entry.path, seededBytes(entry.seed, entry.size), { mode: entry.mode });
        done += entry.size;
        onProgress?.(done);
        break;
      case 'symlink':
        builder.symlink(entry.path, entry.target);
        break;
      case 'link':
        builder.link(entry.path, entry.target);
        break;
    }
  }
  return builder.build();
}

/** Writes the planned tree into a directory on disk (the lower directory of kernel overlayfs). */
export function writeBaseDir(root: string, plan: BasePlan, onProgress?: (done: number) => void): void {
  let done = 0;
  for (const entry of plan.entries) {
    const target = path.join(root, entry.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    switch (entry.kind) {
      case 'dir':
        fs.mkdirSync(target, { recursive: true });
        break;
      case 'file':
        fs.writeFileSync(target, seededBytes(entry.seed, entry.size), { mode: entry.mode });
        fs.chmodSync(target, entry.mode);
        done += entry.size;
        onProgress?.(done);
        break;
      case 'symlink':
        fs.symlinkSync(entry.target, target);
        break;
      case 'link':
        fs.linkSync(path.join(root, entry.target), target);
        break;
    }
  }
}
