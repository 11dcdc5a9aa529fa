/**
 * The storage-efficiency benchmark: N containers over one generated base image, each making a
 * realistic change set, measured against full copies and kernel overlayfs in the same run.
 * `npm start` runs it at the default size; see bench/README.md for flags and the JSON fields.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Container, DEFAULT_CHUNK_SIZE, DirBlobStore, Image, MemoryBlobStore, type BlobStore } from '../../src/index.js';
import { seededBytes } from '../lib/prng.js';
import { commit, formatBytes, machine, parseSize, percentile, printTable, progress, writeResult } from '../lib/report.js';
import { buildBaseLayer, planBase } from './base.js';
import { applyChangeSet, changeSetFor, containerTarget, verifyChangeSet, writtenBytes } from './changes.js';
import { type Series, storageChart } from './chart.js';
import { type OverlayResult, measureOverlay, overlayUnavailable } from './overlay.js';

const { values: flags } = parseArgs({
  options: {
    containers: { type: 'string', default: '1000' },
    'base-size': { type: 'string', default: '1GiB' },
    store: { type: 'string', default: 'memory' },
    'chunk-size': { type: 'string', default: String(DEFAULT_CHUNK_SIZE) },
    seed: { type: 'string', default: '42' },
    overlay: { type: 'boolean', default: true },
    'overlay-containers': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/storage.json' },
    help: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

if (flags.help) {
  console.log(`usage: npm start -- [--containers N] [--base-size 1GiB] [--store memory|dir] [--chunk-size 64KiB]
       [--seed N] [--no-overlay] [--overlay-containers N] [--quick] [--out FILE]`);
  process.exit(0);
}

const containers = flags.quick ? 50 : Number(flags.containers);
const baseSize = flags.quick ? parseSize('16MiB') : parseSize(flags['base-size']);
const chunkSize = parseSize(flags['chunk-size']);
const seed = Number(flags.seed);
const overlayContainers = Math.min(containers, Number(flags['overlay-containers'] ?? (flags.quick ? 10 : 100)));
if (!Number.isInteger(containers) || containers < 1) throw new Error('--containers must be a positive whole number');
if (flags.store !== 'memory' && flags.store !== 'dir') throw new Error('--store is memory or dir');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-'));
const store: BlobStore = flags.store === 'dir' ? new DirBlobStore(path.join(scratch, 'store'), { durable: false }) : new MemoryBlobStore();

// 1. The base image.
const plan = planBase(baseSize, seed);
console.error(`base: ${plan.files} files, ${formatBytes(plan.bytes)}, ${plan.entries.length} entries; ${containers} containers; ${flags.store} store, ${formatBytes(chunkSize)} chunks`);
const importStarted = performance.now();
const importProgress = progress('generating and importing the base');
const layer = buildBaseLayer(store, plan, chunkSize, (done) => importProgress(done, plan.bytes));
const importSeconds = (performance.now() - importStarted) / 1000;
const image = new Image([layer]);
const baseStored = store.stats().storedBytes;
const database = seededBytes((plan.entries.find((e) => e.path === plan.database.path) as { seed: number }).seed, plan.database.size);
const originalAround = (offset: number) => database.subarray(offset - 16, offset + 4096 + 16);

// 2. Containers: create each (timed alone), apply and verify its change set.
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const createNs: number[] = [];
const live: Container[] = [];
const upperBytes: number[] = [];
let written = 0;
const checkpoints: { containers: number; layerfs: number }[] = [];
const isCheckpoint = (n: number) => n === containers || /^(1|2|5)0*$/.test(String(n));
const changeProgress = progress('containers', String);
const changesStarted = performance.now();
for (let index = 0; index < containers; index++) {
  const started = process.hrtime.bigint();
  const container = new Container(image, store, { chunkSize });
  createNs.push(Number(process.hrtime.bigint() - started));
  live.push(container);
  const change = changeSetFor(plan, index, seed);
  const target = containerTarget(container);
  written += writtenBytes(change, applyChangeSet(target, change));
  verifyChangeSet(target, change, originalAround);
  upperBytes.push(container.saveUpper().length);
  if (isCheckpoint(index + 1)) {
    checkpoints.push({ containers: index + 1, layerfs: store.stats().storedBytes + upperBytes.reduce((a, b) => a + b, 0) });
  }
  changeProgress(index + 1, containers);
}
const changesSeconds = (performance.now() - changesStarted) / 1000;
// A container of the base must still see the base: nothing leaked between containers.
verifyUntouched(new Container(image, store));
globalThis.gc?.();
const memory = process.memoryUsage();
const blobBytes = store.stats().storedBytes;
const uppers = upperBytes.reduce((a, b) => a + b, 0);
const layerfsTotal = blobBytes + uppers;
const ideal = baseStored + written;
const fullCopy = containers * plan.bytes + written;
createNs.sort((a, b) => a - b);

// 3. Kernel overlayfs, same base, same change sets, same run.
const skipped = !flags.overlay ? 'disabled with --no-overlay' : overlayUnavailable();
let overlay: OverlayResult | undefined;
if (!skipped) {
  overlay = measureOverlay(plan, (index) => changeSetFor(plan, index, seed), originalAround, overlayContainers, path.join(scratch, 'overlay'), progress('kernel overlayfs containers', String));
}
fs.rmSync(scratch, { recursive: true, force: true });
const overlayPerContainer = overlay ? overlay.upperBytes.reduce((a, b) => a + b, 0) / overlay.containers : 0;

// 4. Report.
const row = (name: string, bytes: number) => [name, formatBytes(bytes), (bytes / layerfsTotal).toFixed(2)];
console.log(`\nStorage for ${containers} containers over a ${formatBytes(plan.bytes)} base (${plan.files} files), seed ${seed}\n`);
const table = printTable(['', 'bytes', 'x layerfs'], [
  row('full copy per container (virtual machines)', fullCopy),
  ...(overlay ? [row(`kernel overlayfs (base + uppers${overlay.containers < containers ? `, ${overlay.containers} measured, scaled` : ''})`, overlay.baseBytes + overlayPerContainer * containers)] : []),
  row('layerfs (blobs + layers + uppers)', layerfsTotal),
  row('ideal (base + bytes the containers wrote)', ideal),
]);
console.log(`
layerfs overhead: ${(layerfsTotal / ideal).toFixed(4)} x ideal (target < 1.01)
per container: ${formatBytes((layerfsTotal - baseStored) / containers)} stored for ${formatBytes(written / containers)} written; upper layer ${formatBytes(uppers / containers)}
create: median ${(percentile(createNs, 50) / 1000).toFixed(1)} µs, p99 ${(percentile(createNs, 99) / 1000).toFixed(1)} µs; change sets ${changesSeconds.toFixed(2)} s
import: ${(plan.bytes / 2 ** 20 / importSeconds).toFixed(0)} MiB/s; memory with ${containers} live: rss ${formatBytes(memory.rss)}, heap ${formatBytes(memory.heapUsed)} (${formatBytes((memory.heapUsed - heapBefore) / containers)} per container)`);
if (overlay) {
  const mountMs = [...overlay.mountMs].sort((a, b) => a - b);
  console.log(`kernel overlayfs: ${formatBytes(overlayPerContainer)} per container (the 4 KiB write copied up ${formatBytes(overlay.databaseCopyUpBytes)}); mount median ${percentile(mountMs, 50).toFixed(1)} ms`);
} else {
  console.log(`kernel overlayfs: skipped (${skipped})`);
}

const series: Series[] = [
  { name: 'full copy', color: '#d62728', points: checkpoints.map(({ containers: n }) => [n, n * plan.bytes]) },
  ...(overlay ? [{ name: 'kernel overlayfs', color: '#ff7f0e', points: checkpoints.map(({ containers: n }) => [n, overlay!.baseBytes + overlayPerContainer * n] as [number, number]), dashed: overlay.containers < containers }] : []),
  { name: 'layerfs', color: '#1f77b4', points: checkpoints.map(({ containers: n, layerfs }) => [n, layerfs] as [number, number]) },
];
const chartFile = flags.out.replace(/\.json$/, '.svg');
const result = {
  benchmark: 'storage',
  machine: machine(),
  commit: commit(),
  date: new Date().toISOString(),
  seed,
  parameters: { containers, baseSize, chunkSize, store: flags.store, overlayContainers: overlay?.containers ?? 0 },
  base: { files: plan.files, entries: plan.entries.length, logicalBytes: plan.bytes, storedBytes: baseStored, importSeconds },
  layerfs: {
    totalBytes: layerfsTotal,
    blobBytes,
    upperBytes: uppers,
    writtenBytes: written,
    idealBytes: ideal,
    overhead: layerfsTotal / ideal,
    perContainerBytes: (layerfsTotal - baseStored) / containers,
    createMicros: { median: percentile(createNs, 50) / 1000, p99: percentile(createNs, 99) / 1000, total: createNs.reduce((a, b) => a + b, 0) / 1000 },
    changeSetsSeconds: changesSeconds,
    memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapPerContainer: (memory.heapUsed - heapBefore) / containers },
  },
  fullCopyBytes: fullCopy,
  overlay: overlay
    ? {
        measuredContainers: overlay.containers,
        baseBytes: overlay.baseBytes,
        perContainerBytes: overlayPerContainer,
        scaledTotalBytes: overlay.baseBytes + overlayPerContainer * containers,
        databaseCopyUpBytes: overlay.databaseCopyUpBytes,
        mountMs: { median: percentile([...overlay.mountMs].sort((a, b) => a - b), 50) },
      }
    : { skipped },
  ratios: {
    fullCopyOverLayerfs: fullCopy / layerfsTotal,
    overlayOverLayerfs: overlay ? (overlay.baseBytes + overlayPerContainer * containers) / layerfsTotal : null,
    overlayPerContainerOverLayerfs: overlay ? overlayPerContainer / ((layerfsTotal - baseStored) / containers) : null,
  },
  checkpoints,
  table,
};
writeResult(flags.out, result);
fs.writeFileSync(chartFile, storageChart(`Stored bytes, ${formatBytes(plan.bytes)} base`, series));
console.log(`\nwrote ${flags.out} and ${chartFile}`);

function verifyUntouched(container: Container): void {
  const target = containerTarget(container);
  const change = changeSetFor(plan, 0, seed);
  if (!target.exists(change.deleteDir) || !target.exists(change.deleteFile)) throw new Error('a change leaked into the base image');
  if (Buffer.compare(target.read(plan.database.path, change.write.offset - 16, 4096 + 32), originalAround(change.write.offset)) !== 0) {
    throw new Error('the 4 KiB write leaked into the base image');
  }
}
