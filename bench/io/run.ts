/**
 * I/O through the in-memory fs API, beside memfs and @zenfs/core's copy-on-write overlay, in one
 * run on the same generated tree: readFile of every file, stat of every path, a recursive
 * readdir, modifications and deletions of lower files, and creating containers (for memfs, a
 * copy of the volume: what a test needs to start from the same tree). Prints a table of times
 * and ratios (memfs time / layerfs time: above 1 means layerfs is faster) and writes
 * bench/results/io.json. Default 2,000 files (20 MB); `--files 20000` is the full-size target.
 */
import { parseArgs } from 'node:util';
import { CopyOnWriteFS, InMemory, mount, umount, fs as zenfs } from '@zenfs/core';
import { Volume, createFsFromVolume } from 'memfs';
import { Container, Image, LayerBuilder, MemoryBlobStore, createFs } from '../../src/index.js';
import { prng, seededBytes } from '../lib/prng.js';
import { commit, formatBytes, machine, parseSize, printTable, writeResult } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    size: { type: 'string' },
    seed: { type: 'string', default: '42' },
    modifications: { type: 'string', default: '1000' },
    deletions: { type: 'string', default: '1000' },
    containers: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    zenfs: { type: 'boolean', default: true },
    out: { type: 'string', default: 'bench/results/io.json' },
    help: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

if (flags.help) {
  console.log('usage: npm run bench:io -- [--files 20000] [--size 200MB] [--seed 42] [--modifications 1000] [--deletions 1000] [--containers 1000] [--repeat 3] [--no-zenfs] [--out FILE]');
  process.exit(0);
}

const fileCount = Number(flags.files);
const totalBytes = flags.size ? parseSize(flags.size) : fileCount * 10 * 1024;
const seed = Number(flags.seed);
const repeat = Number(flags.repeat);
const modifications = Math.min(Number(flags.modifications), Math.floor(fileCount / 2));
const deletions = Math.min(Number(flags.deletions), Math.floor(fileCount / 2));
const containerCount = Number(flags.containers);

// ---- the tree ---------------------------------------------------------------------------------

interface Tree {
  dirs: string[];
  files: { path: string; bytes: Uint8Array }[];
}

/** Files of 0.2x to 1.8x the mean size, 50 to a directory, 20 directories to a parent. */
function generate(): Tree {
  const random = prng(seed);
  const mean = totalBytes / fileCount;
  const dirs = new Set<string>();
  const files: Tree['files'] = [];
  for (let i = 0; i < fileCount; i++) {
    const leaf = Math.floor(i / 50);
    const dir = `/pkg${Math.floor(leaf / 20)}/mod${leaf % 20}`;
    dirs.add(dir.slice(0, dir.lastIndexOf('/')));
    dirs.add(dir);
    const size = Math.max(1, Math.round(mean * (0.2 + 1.6 * random())));
    files.push({ path: `${dir}/file${i}.bin`, bytes: seededBytes(seed * 1_000_003 + i, size) });
  }
  return { dirs: [...dirs], files };
}

// ---- the filesystems ----------------------------------------------------------------------------

/** The sync calls the workloads use; node:fs, memfs, zenfs and layerfs all have them. */
interface SyncFs {
  readFileSync(path: string): Uint8Array;
  statSync(path: string): { size: number };
  readdirSync(path: string, options: { withFileTypes: true }): { name: string; isDirectory(): boolean }[];
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, options?: { recursive: boolean }): unknown;
  writeFileSync(path: string, data: Uint8Array): void;
}

interface Subject {
  name: string;
  /** The filesystem the read workloads run on (for layerfs and zenfs, a container of the base). */
  fs: SyncFs;
  /** Where the tree sits in `fs`. */
  prefix: string;
  /** A new writable copy of the base: a container, or for memfs a copy of the volume. */
  fresh(): { fs: SyncFs; prefix: string };
  /** How many fresh copies to time (memfs copies the whole tree, so a few are enough). */
  freshCount: number;
  /** A new fs object over what `fs` shows, sharing its files (undefined: the library has none). */
  fsObject?(): unknown;
  dispose(): void;
}

function layerfs(tree: Tree): Subject {
  const store = new MemoryBlobStore();
  const builder = new LayerBuilder(store);
  for (const file of tree.files) builder.file(file.path, file.bytes);
  const image = new Image([builder.build()]);
  const fresh = () => ({ fs: createFs(new Container(image, store)) as unknown as SyncFs, prefix: '' });
  const first = fresh();
  const container = (first.fs as unknown as { core: { view: Container } }).core.view;
  return { name: 'layerfs', ...first, fresh, freshCount: containerCount, fsObject: () => createFs(container), dispose: () => {} };
}

function copyVolume(from: SyncFs): SyncFs {
  const to = new Volume() as unknown as SyncFs;
  const walk = (dir: string) => {
    for (const entry of from.readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir === '/' ? '' : dir}/${entry.name}`;
      if (entry.isDirectory()) {
        to.mkdirSync(path);
        walk(path);
      } else to.writeFileSync(path, from.readFileSync(path));
    }
  };
  walk('/');
  return to;
}

function memfs(tree: Tree): Subject {
  const volume = new Volume() as unknown as SyncFs;
  for (const dir of tree.dirs) volume.mkdirSync(dir, { recursive: true });
  for (const file of tree.files) volume.writeFileSync(file.path, file.bytes);
  return {
    name: 'memfs',
    fs: volume,
    prefix: '',
    fresh: () => ({ fs: copyVolume(volume), prefix: '' }),
    freshCount: Math.max(1, Math.min(5, Math.round(2e8 / totalBytes))),
    fsObject: () => createFsFromVolume(volume as unknown as Volume),
    dispose: () => {},
  };
}

function zen(tree: Tree): Subject {
  const lower = InMemory.create({ label: 'base' });
  mount('/base', lower);
  for (const dir of tree.dirs) zenfs.mkdirSync(`/base${dir}`, { recursive: true });
  for (const file of tree.files) zenfs.writeFileSync(`/base${file.path}`, file.bytes);
  umount('/base');
  const mounted: string[] = [];
  const fresh = () => {
    const overlay = new CopyOnWriteFS(lower, InMemory.create({ label: 'upper' }));
    overlay.readySync();
    const at = `/c${mounted.length}`;
    mount(at, overlay);
    mounted.push(at);
    return { fs: zenfs as unknown as SyncFs, prefix: at };
  };
  return {
    name: '@zenfs/core overlay',
    ...fresh(),
    fresh,
    freshCount: containerCount,
    dispose: () => {
      for (const at of mounted.splice(0)) umount(at);
    },
  };
}

// ---- the workloads ------------------------------------------------------------------------------

interface Measure {
  seconds: number;
  operations: number;
}

/**
 * The median of `runs` timings of `work`, after one untimed warm-up when it can be repeated.
 * `prepare` makes what one run works on (a fresh copy for a run that changes files), untimed.
 */
function timed<T = undefined>(runs: number, work: (prepared: T) => number, prepare?: () => T): Measure {
  const times: number[] = [];
  let operations = 0;
  if (runs > 1) work(prepare?.() as T);
  for (let run = 0; run < runs; run++) {
    const prepared = prepare?.() as T;
    globalThis.gc?.();
    const started = performance.now();
    operations = work(prepared);
    times.push((performance.now() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)]!, operations };
}

function walk(fs: SyncFs, dir: string): number {
  let count = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    count++;
    if (entry.isDirectory()) count += walk(fs, `${dir === '/' ? '' : dir}/${entry.name}`);
  }
  return count;
}

function workloads(subject: Subject, tree: Tree, picks: { modified: string[]; deleted: string[] }): Record<string, Measure> {
  const { fs, prefix } = subject;
  const paths = [...tree.dirs, ...tree.files.map((file) => file.path)];
  const results: Record<string, Measure> = {};
  const log = (name: string) => process.stderr.write(`${subject.name}: ${name}... `);
  const done = (name: string) => process.stderr.write(`${results[name]!.seconds.toFixed(3)} s\n`);

  log('readFile');
  results.readFile = timed(repeat, () => {
    let bytes = 0;
    for (const file of tree.files) bytes += fs.readFileSync(prefix + file.path).length;
    if (bytes !== tree.files.reduce((sum, file) => sum + file.bytes.length, 0)) throw new Error(`${subject.name}: readFile lost bytes`);
    return tree.files.length;
  });
  done('readFile');

  log('stat');
  results.stat = timed(repeat, () => {
    for (const path of paths) fs.statSync(prefix + path);
    return paths.length;
  });
  done('stat');

  log('readdir');
  results.readdir = timed(repeat, () => {
    const entries = walk(fs, prefix || '/');
    if (entries !== paths.length) throw new Error(`${subject.name}: readdir saw ${entries} entries, not ${paths.length}`);
    return entries;
  });
  done('readdir');

  // Changes run on fresh copies of the base (made untimed), so they can be repeated and warmed up
  // like the reads: a single cold run mostly measures the JIT compiling the write path.
  const patch = new Uint8Array(4096).fill(0x5a);
  log('modify');
  results.modify = timed(
    repeat,
    (copy) => {
      for (const path of picks.modified) {
        const fd = copy.fs.openSync(copy.prefix + path, 'r+');
        copy.fs.writeSync(fd, patch, 0, patch.length, 0);
        copy.fs.closeSync(fd);
      }
      const check = copy.fs.readFileSync(copy.prefix + picks.modified[0]!);
      if (check[0] !== 0x5a || check[Math.min(check.length, 4096) - 1] !== 0x5a) throw new Error(`${subject.name}: a modification was lost`);
      return picks.modified.length;
    },
    subject.fresh,
  );
  done('modify');

  log('delete');
  results.delete = timed(
    repeat,
    (copy) => {
      for (const path of picks.deleted) copy.fs.unlinkSync(copy.prefix + path);
      return picks.deleted.length;
    },
    subject.fresh,
  );
  done('delete');

  log('create');
  results.create = timed(repeat, () => {
    for (let i = 0; i < subject.freshCount; i++) subject.fresh();
    return subject.freshCount;
  });
  done('create');

  const { fsObject } = subject;
  if (fsObject) {
    log('fs object');
    results.fsObject = timed(repeat, () => {
      for (let i = 0; i < containerCount; i++) fsObject();
      return containerCount;
    });
    done('fsObject');
    // Enough objects that the collector's own noise is a fraction of a byte each.
    heapPerFsObject[subject.name] = heapPer(fsObject, Math.max(containerCount, 20_000));
  }
  subject.dispose();
  return results;
}

// ---- the run ------------------------------------------------------------------------------------

const LABELS: Record<string, string> = {
  readFile: 'readFile, every file',
  stat: 'stat, every path',
  readdir: 'readdir, recursive walk',
  modify: 'modify lower files (4 KiB write)',
  delete: 'delete lower files',
  create: 'create a container (memfs: copy the volume)',
  fsObject: 'an fs object over a container (memfs: a volume)',
};

/** Heap bytes each fs object keeps (with --expose-gc; undefined without it). */
const heapPerFsObject: Record<string, number | undefined> = {};

function heapPer(make: () => unknown, count: number): number | undefined {
  const gc = globalThis.gc;
  if (!gc) return undefined;
  const kept: unknown[] = new Array(count).fill(null);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) kept[i] = make();
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  kept.fill(null);
  return bytes;
}

process.stderr.write(`generating ${fileCount} files, ${formatBytes(totalBytes)}, seed ${seed}\n`);
const tree = generate();
const random = prng(seed + 1);
const order = tree.files.map((file) => file.path).sort(() => random() - 0.5);
const picks = { modified: order.slice(0, modifications), deleted: order.slice(modifications, modifications + deletions) };

const builders = [layerfs, memfs, ...(flags.zenfs ? [zen] : [])];
const results: Record<string, Record<string, Measure & { perOperationMicros: number }>> = {};
const buildSeconds: Record<string, number> = {};
for (const build of builders) {
  globalThis.gc?.();
  const started = performance.now();
  const subject = build(tree);
  buildSeconds[subject.name] = (performance.now() - started) / 1000;
  const measured = workloads(subject, tree, picks);
  results[subject.name] = Object.fromEntries(
    Object.entries(measured).map(([name, m]) => [name, { ...m, perOperationMicros: (m.seconds / m.operations) * 1e6 }]),
  );
}

const per = (name: string, op: string) => results[name]?.[op]?.perOperationMicros;
const names = Object.keys(results);
const micros = (value: number | undefined) => (value === undefined ? '-' : value >= 1e5 ? `${(value / 1e6).toFixed(2)} s` : value >= 100 ? `${value.toFixed(0)} µs` : `${value.toFixed(2)} µs`);
const ratio = (other: number | undefined, mine: number | undefined) => (other === undefined || mine === undefined ? '-' : `${(other / mine).toFixed(other / mine >= 100 ? 0 : 2)}x`);
const rows = Object.keys(LABELS).map((op) => [
  LABELS[op]!,
  ...names.map((name) => micros(per(name, op))),
  ratio(per('memfs', op), per('layerfs', op)),
  ...(flags.zenfs ? [ratio(per('@zenfs/core overlay', op), per('layerfs', op))] : []),
]);
const heap = (name: string) => heapPerFsObject[name];
rows.push([
  'heap per fs object',
  ...names.map((name) => (heap(name) === undefined ? '-' : formatBytes(Math.max(0, heap(name)!)))),
  ratio(heap('memfs'), heap('layerfs')),
  ...(flags.zenfs ? ['-'] : []),
]);
console.log(`\n${fileCount} files, ${formatBytes(tree.files.reduce((sum, file) => sum + file.bytes.length, 0))}, ${tree.dirs.length} directories; time per operation (median of ${repeat} for reads)\n`);
const table = printTable(
  ['operation', ...names, 'memfs / layerfs', ...(flags.zenfs ? ['zenfs / layerfs'] : [])],
  rows,
);
console.log('\nratios above 1x: layerfs is that many times faster.');

writeResult(flags.out!, {
  benchmark: 'io',
  machine: machine(),
  commit: commit(),
  date: new Date().toISOString(),
  seed,
  parameters: { files: fileCount, bytes: totalBytes, directories: tree.dirs.length, modifications, deletions, containers: containerCount, repeat },
  buildSeconds,
  results,
  heapPerFsObject,
  ratios: Object.fromEntries(
    Object.keys(LABELS).map((op) => [
      op,
      {
        memfsOverLayerfs: (per('memfs', op) ?? NaN) / (per('layerfs', op) ?? NaN),
        ...(flags.zenfs ? { zenfsOverLayerfs: (per('@zenfs/core overlay', op) ?? NaN) / (per('layerfs', op) ?? NaN) } : {}),
      },
    ]),
  ),
  table,
});
