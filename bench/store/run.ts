/**
 * Store throughput: imports a seeded in-memory tree (default 1 GiB; `--size 64MiB` for a quick
 * look) into a MemoryBlobStore and into DirBlobStores (not fsynced, and fsynced), and reads it
 * back, beside a plain memory copy (Buffer.from) and node:crypto sha256 of the same bytes in the
 * same run; the ratios are the headline. Writes bench/results/store.json. See bench/store/README.md.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Layer, LayerBuilder, layerFromFs } from '../../src/layer/index.js';
import { type BaseBlobStore, type BlobStore, DEFAULT_CHUNK_SIZE, DirBlobStore, MemoryBlobStore, readContentInto, xxh64 } from '../../src/store/index.js';
import { commit, formatBytes, machine, parseSize, printTable, writeResult } from '../lib/report.js';
import { type Tree, generateTree } from './tree.js';

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: String(DEFAULT_CHUNK_SIZE) },
    seed: { type: 'string', default: '42' },
    durable: { type: 'boolean', default: true },
    out: { type: 'string', default: 'bench/results/store.json' },
    help: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

if (flags.help) {
  console.log('usage: npm run bench:store -- [--size 1GiB] [--chunk-size 64KiB] [--seed 42] [--no-durable] [--out FILE]');
  process.exit(0);
}

const size = parseSize(flags.size);
const chunkSize = parseSize(flags['chunk-size']);
const seed = Number(flags.seed);

interface Step {
  name: string;
  seconds: number;
  /** Bytes the step handled: the tree's logical bytes. */
  bytes: number;
  storedBytes?: number;
  blobs?: number;
}

/** Runs `work` once, timed, after a collection when the runtime allows one (node --expose-gc). */
function time(name: string, bytes: number, work: () => Partial<Step> | void): Step {
  globalThis.gc?.();
  process.stderr.write(`${name}... `);
  const started = performance.now();
  const extra = work() ?? {};
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${seconds.toFixed(2)} s\n`);
  return { name, seconds, bytes, ...extra };
}

function importInto(tree: Tree, store: BlobStore): Layer {
  const builder = new LayerBuilder(store, { chunkSize });
  for (const file of tree.files) builder.file(file.path, file.bytes);
  return builder.build();
}

/**
 * Reads every file back through the layer into one reused buffer, as fs.readSync into a caller's
 * buffer would (a fresh buffer per file would time page faults, not the store); checks a sample.
 */
function readBack(tree: Tree, store: BlobStore, layer: Layer, target: Uint8Array): void {
  for (const [index, file] of tree.files.entries()) {
    const inode = layer.inode(layer.lookup(file.path)!);
    if (inode.kind !== 'file') throw new Error(`${file.path} came back as a ${inode.kind}`);
    const count = readContentInto(store, inode.content, 0, inode.content.size, target);
    if (count !== file.bytes.length || (index % 97 === 0 && Buffer.compare(target.subarray(0, count), file.bytes) !== 0)) {
      throw new Error(`${file.path} read back wrong`);
    }
  }
}

/** The tree as files on disk (duplicates as copies, as a real tree has them). */
function writeTree(tree: Tree, root: string): void {
  for (const file of tree.files) {
    const target = path.join(root, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.bytes);
  }
}

function stored(store: BaseBlobStore): Partial<Step> {
  const stats = store.stats();
  return { storedBytes: stats.storedBytes, blobs: stats.blobs };
}

process.stderr.write(`generating ${formatBytes(size)} (seed ${seed})... `);
const tree = generateTree(size, seed);
process.stderr.write(`${tree.files.length} files\n`);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-store-'));
const steps: Step[] = [];
try {
  const L = tree.logicalBytes;
  const target = new Uint8Array(Math.max(...tree.files.map((file) => file.bytes.length)));
  // Fresh memory: what a store that keeps a copy pays at least (on a VM, page faults dominate).
  steps.push(time('memory copy (Buffer.from)', L, () => {
    const copies: Uint8Array[] = [];
    for (const file of tree.files) copies.push(Buffer.from(file.bytes));
  }));
  // Warm memory: the floor of the read steps, which copy into one reused buffer.
  steps.push(time('memory copy into a reused buffer', L, () => {
    for (const file of tree.files) target.set(file.bytes);
  }));
  steps.push(time('sha256 (node:crypto)', L, () => {
    for (const file of tree.files) createHash('sha256').update(file.bytes).digest();
  }));
  steps.push(time('xxh64 alone (digest of each chunk)', L, () => {
    for (const file of tree.files) {
      for (let at = 0; at < file.bytes.length; at += chunkSize) xxh64(file.bytes.subarray(at, at + chunkSize));
    }
  }));

  const memory = new MemoryBlobStore();
  let memoryLayer: Layer | undefined;
  steps.push(time('import: MemoryBlobStore', L, () => {
    memoryLayer = importInto(tree, memory);
    return stored(memory);
  }));
  steps.push(time('read back: MemoryBlobStore', L, () => readBack(tree, memory, memoryLayer!, target)));

  const stores: [string, DirBlobStore][] = [['DirBlobStore, durable: false', new DirBlobStore(path.join(scratch, 'fast'), { durable: false })]];
  // As `layerfs import` writes: fsyncs gathered into one sync before the record names the layer.
  if (flags.durable) stores.push(['DirBlobStore, durable (fsyncs batched)', new DirBlobStore(path.join(scratch, 'durable'), { durable: true, batch: true })]);
  for (const [label, store] of stores) {
    let layer: Layer | undefined;
    steps.push(time(`import: ${label}`, L, () => {
      layer = importInto(tree, store);
      store.sync();
      return stored(store);
    }));
    if (layer!.id !== memoryLayer!.id) throw new Error(`${label} gave layer ${layer!.id}, memory gave ${memoryLayer!.id}`);
    steps.push(time(`read back: ${label} (page cache warm)`, L, () => readBack(tree, store, layer!, target)));
  }

  if (flags.durable) {
    // From a directory on disk, as `layerfs import DIR` does, beside `tar x` of the same tree onto
    // the same disk (then a sync, so both are durable). The source is in the page cache for both.
    process.stderr.write('writing the tree to disk and a tar of it (untimed)... ');
    const source = path.join(scratch, 'source');
    writeTree(tree, source);
    const tarball = path.join(scratch, 'tree.tar');
    execFileSync('tar', ['cf', tarball, '-C', source, '.']);
    execFileSync('sync', ['-f', scratch]);
    process.stderr.write('done\n');
    const extracted = path.join(scratch, 'extracted');
    steps.push(time('tar x of the same tree', L, () => {
      fs.mkdirSync(extracted);
      execFileSync('tar', ['xf', tarball, '-C', extracted]);
    }));
    steps.push(time('sync after tar x', L, () => void execFileSync('sync', ['-f', extracted])));
    const last = steps.length;
    steps.push({ name: 'tar x + sync (durable)', bytes: L, seconds: steps[last - 2]!.seconds + steps[last - 1]!.seconds });
    const store = new DirBlobStore(path.join(scratch, 'from-dir'), { durable: true, batch: true });
    steps.push(time('import DIR: DirBlobStore, durable (fsyncs batched)', L, () => {
      layerFromFs(store, fs, source, { chunkSize });
      store.sync();
      return stored(store);
    }));
  }

  const rate = (step: Step) => step.bytes / 1e6 / step.seconds;
  const copyRate = rate(steps[0]!);
  const shaRate = rate(steps.find((step) => step.name.startsWith('sha256'))!);
  const rows = steps.map((step) => ({
    ...step,
    mbPerSecond: rate(step),
    vsMemoryCopy: rate(step) / copyRate,
    vsSha256: rate(step) / shaRate,
  }));
  console.log(`\n${tree.files.length} files, ${formatBytes(tree.logicalBytes)} logical, ${formatBytes(tree.uniqueBytes)} generated; ${formatBytes(chunkSize)} chunks; MB = 10^6 bytes\n`);
  printTable(
    ['step', 'seconds', 'MB/s', 'x memory copy', 'x sha256', 'stored', 'blobs'],
    rows.map((row) => [
      row.name,
      row.seconds.toFixed(2),
      row.mbPerSecond.toFixed(0),
      row.vsMemoryCopy.toFixed(3),
      row.vsSha256.toFixed(2),
      row.storedBytes === undefined ? '' : formatBytes(row.storedBytes),
      row.blobs === undefined ? '' : String(row.blobs),
    ]),
  );
  const origins = new Map<string, { files: number; bytes: number }>();
  for (const file of tree.files) {
    const entry = origins.get(file.origin) ?? { files: 0, bytes: 0 };
    entry.files++;
    entry.bytes += file.bytes.length;
    origins.set(file.origin, entry);
  }
  writeResult(flags.out, {
    benchmark: 'store',
    machine: machine(),
    commit: commit(),
    date: new Date().toISOString(),
    seed,
    parameters: { size, chunkSize, durable: flags.durable },
    tree: { files: tree.files.length, logicalBytes: tree.logicalBytes, generatedBytes: tree.uniqueBytes, origins: Object.fromEntries(origins) },
    steps: rows,
  });
  console.log(`\nwrote ${flags.out}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
