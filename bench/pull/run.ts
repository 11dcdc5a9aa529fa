/**
 * The pull benchmark (issue 12): the storage benchmark's rootfs-shaped base pushed to a local
 * docker-registry (distribution 2.8, started here on loopback), then on fresh stores:
 *
 * - full pull time and throughput, beside `skopeo copy` of the same image from the same registry
 *   into an OCI layout (run side by side);
 * - lazy pull (the base pushed with --lazy) + mount + reading a fixed 5% of the base's files (the
 *   files a program start needs): time to that first useful read, and bytes fetched, from the
 *   registry's own access log;
 * - a second push of an image sharing the base: blob uploads counted in the registry's log.
 *
 * `npm run bench:pull` runs the 1 GiB target; `-- --quick` a 64 MiB base. Writes bench/results/pull.json.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Engine } from '../../src/container/index.js';
import { DEFAULT_CHUNK_SIZE, LayerBuilder } from '../../src/index.js';
import { pullImage, pullLazy, pushImage } from '../../src/registry/index.js';
import { startRegistry } from '../../test/registry/registry-server.js';
import { seededBytes } from '../lib/prng.js';
import { commit, formatBytes, machine, parseSize, printTable, writeResult } from '../lib/report.js';
import { buildBaseLayer, planBase } from '../storage/base.js';

const { values: flags } = parseArgs({
  options: {
    'base-size': { type: 'string', default: '1GiB' },
    'read-share': { type: 'string', default: '0.05' },
    readers: { type: 'string', default: '8' },
    seed: { type: 'string', default: '42' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/pull.json' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npm run bench:pull -- [--base-size 1GiB] [--read-share 0.05] [--readers 8] [--seed N] [--quick] [--out FILE]');
  process.exit(0);
}
for (const tool of ['/usr/bin/docker-registry', '/usr/bin/skopeo']) {
  if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: apt-get install docker-registry skopeo`);
}

const baseSize = flags.quick ? parseSize('64MiB') : parseSize(flags['base-size']);
const share = Number(flags['read-share']);
const readers = Number(flags.readers);
const seed = Number(flags.seed);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-pull-'));
const seconds = (since: number) => (performance.now() - since) / 1000;
const log = (line: string) => console.error(line);

// The mount runs as users run it: the built CLI (`layerfs`, dist/cli/main.js), not from source
// through tsx, whose start-up (0.8-1.4 s on 2 busy cores) would be counted in the lazy start.
execFileSync('npx', ['tsup', '--silent'], { cwd: repo, stdio: 'inherit' });
const builtCli = path.join(repo, 'dist/cli/main.js');
const registry = await startRegistry();
const cleanups: (() => void)[] = [];
try {
  // 1. The base, in a store of its own, pushed whole (gzip) and in the seekable form.
  const plan = planBase(baseSize, seed);
  log(`base: ${plan.files} files, ${formatBytes(plan.bytes)}; registry ${registry.host}`);
  const source = Engine.open(path.join(scratch, 'source'), { durable: false });
  const base = buildBaseLayer(source.store, plan, DEFAULT_CHUNK_SIZE);
  source.tag('base', [base.id]);
  let started = performance.now();
  const pushed = await pushImage(source.store, source.dir, [base], `${registry.host}/bench/base:1`);
  const pushSeconds = seconds(started);
  log(`push (gzip): ${pushSeconds.toFixed(1)} s, ${formatBytes(pushed.bytes)}`);
  started = performance.now();
  const lazyPushed = await pushImage(source.store, source.dir, [base], `${registry.host}/bench/lazy:1`, { lazy: true });
  const lazyPushSeconds = seconds(started);
  log(`push --lazy: ${lazyPushSeconds.toFixed(1)} s, ${formatBytes(lazyPushed.bytes)}`);
  // The files a program start reads: a fixed share of the base's files (every 20th for 5%).
  const files = plan.entries.filter((entry) => entry.kind === 'file');
  const wanted = files.filter((_, i) => i % Math.round(1 / share) === 0);
  const wantedBytes = wanted.reduce((sum, entry) => sum + (entry.kind === 'file' ? entry.size : 0), 0);
  // The same again with that list as the prefetch list, as a profiling run of the program would record it.
  await pushImage(source.store, source.dir, [base], `${registry.host}/bench/prefetch:1`, { lazy: true, prefetch: wanted.map((entry) => `/${entry.path.replace(/^\//, '')}`) });

  // 2. A second image sharing the base: only its own layer and config should be uploaded.
  const extra = new LayerBuilder(source.store);
  extra.file('/app/bundle.js', seededBytes(seed + 1, 4 * 1024 * 1024));
  const app = extra.build();
  const uploadsBefore = countLog(registry.log(), 'PUT', '/v2/bench/app/blobs/uploads/');
  const second = await pushImage(source.store, source.dir, [base, app], `${registry.host}/bench/app:1`);
  const secondUploads = countLog(registry.log(), 'PUT', '/v2/bench/app/blobs/uploads/') - uploadsBefore;
  log(`second push: ${second.uploaded} layer uploaded, ${second.mounted} mounted, ${second.exists} already there; ${secondUploads} blob uploads in the registry log`);

  // 3. Full pull and skopeo copy, side by side.
  const full = Engine.open(path.join(scratch, 'full'));
  started = performance.now();
  const pulled = await pullImage(full, `${registry.host}/bench/base:1`, { tag: 'base' });
  const pullSeconds = seconds(started);
  log(`full pull: ${pullSeconds.toFixed(1)} s`);
  const layout = path.join(scratch, 'skopeo-layout');
  started = performance.now();
  execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/bench/base:1`, `oci:${layout}:base`]);
  const skopeoSeconds = seconds(started);
  log(`skopeo copy: ${skopeoSeconds.toFixed(1)} s`);

  // 4. Lazy pull, mount, read the files a program start needs: one after another, by several
  // threads at once, and (one after another) with the prefetch list.
  const lazy = await lazyStart('lazy', 1);
  const parallel = await lazyStart('lazy', readers);
  const prefetch = await lazyStart('prefetch', 1);

  const imageBytes = pushed.bytes;
  const rows = [
    ['full pull (layerfs pull)', `${pullSeconds.toFixed(2)} s`, `${formatBytes(imageBytes / pullSeconds)}/s`, 'skopeo copy to an OCI layout', `${skopeoSeconds.toFixed(2)} s`, `${(skopeoSeconds / pullSeconds).toFixed(2)}x`],
    ...[lazy, parallel, prefetch].map((run) => [
      `lazy pull + mount + read 5% of files${run === parallel ? `, ${readers} threads` : ''}${run === prefetch ? ' (prefetch list)' : ''}`,
      `${run.firstUsefulReadSeconds.toFixed(2)} s`,
      `${formatBytes(run.fetchedBytes)} fetched (${((100 * run.fetchedBytes) / imageBytes).toFixed(1)}%)`,
      'full pull',
      `${pullSeconds.toFixed(2)} s`,
      `${(pullSeconds / run.firstUsefulReadSeconds).toFixed(1)}x`,
    ]),
    ['second push sharing the base', `${second.uploaded} layer uploaded`, `${secondUploads} blob uploads (layer + config)`, 'first push', `${pushed.uploaded} layer`, `${second.mounted} mounted`],
  ];
  printTable(['measure', 'layerfs', 'detail', 'baseline', 'baseline value', 'ratio'], rows);
  writeResult(flags.out!, {
    bench: 'pull',
    machine: machine(),
    commit: commit(),
    seed,
    sizes: { baseBytes: plan.bytes, files: plan.files, imageBytes, readShare: share, filesRead: wanted.length, bytesRead: wantedBytes },
    push: { seconds: pushSeconds, bytes: pushed.bytes, lazySeconds: lazyPushSeconds, lazyBytes: lazyPushed.bytes },
    secondPush: { uploaded: second.uploaded, mounted: second.mounted, exists: second.exists, blobUploadsInLog: secondUploads },
    fullPull: { seconds: pullSeconds, bytesPerSecond: imageBytes / pullSeconds, fetched: pulled.fetched },
    skopeo: { seconds: skopeoSeconds, bytesPerSecond: imageBytes / skopeoSeconds },
    lazy: { ...lazy, fetchedShare: lazy.fetchedBytes / imageBytes, speedupOverFull: pullSeconds / lazy.firstUsefulReadSeconds },
    lazyParallel: { ...parallel, fetchedShare: parallel.fetchedBytes / imageBytes, speedupOverFull: pullSeconds / parallel.firstUsefulReadSeconds },
    lazyWithPrefetchList: { ...prefetch, fetchedShare: prefetch.fetchedBytes / imageBytes, speedupOverFull: pullSeconds / prefetch.firstUsefulReadSeconds },
  });
  /** Lazy pull of bench/REPO, a container, its mount, and the wanted files read through it by `threads` readers. */
  async function lazyStart(repository: string, threads: number) {
    const name = `${repository}-${threads}`;
    const store = path.join(scratch, `store-${name}`);
    const logBefore = (await registry.settledLog()).length;
    const pool = threads > 1 ? startReaders(wanted.map((entry) => entry.path), threads) : undefined;
    const started = performance.now();
    const engine = Engine.open(store);
    const pulled = await pullLazy(engine, `${registry.host}/bench/${repository}:1`, { tag: 'base' });
    engine.create('base', 'box');
    const pullSeconds = seconds(started);
    const mountpoint = path.join(scratch, `mnt-${name}`);
    fs.mkdirSync(mountpoint);
    // The mount starts while the prefetch list is fetched (as `pull --lazy &` then `mount` would).
    const how = await mountBox(store, mountpoint);
    cleanups.push(how.stop);
    const mountSeconds = seconds(started) - pullSeconds;
    await pulled.prefetching;
    let readBytes = 0;
    if (pool) readBytes = await pool.read(mountpoint);
    else for (const entry of wanted) readBytes += how.read(entry.path).length;
    const firstUsefulReadSeconds = seconds(started);
    pool?.stop();
    how.stop();
    const fetchedBytes = (await registry.settledLog()).slice(logBefore).split('\n').filter((line) => line.includes(`/v2/bench/${repository}/`)).reduce((sum, line) => sum + responseBytes(line), 0);
    log(`lazy (${repository}, ${threads} reader${threads === 1 ? '' : 's'}): pull ${pullSeconds.toFixed(2)} s, mount ${mountSeconds.toFixed(2)} s, read ${wanted.length} files (${formatBytes(readBytes)}) at ${firstUsefulReadSeconds.toFixed(2)} s; ${formatBytes(fetchedBytes)} fetched`);
    if (readBytes !== wantedBytes) throw new Error(`read ${readBytes} bytes of the ${wantedBytes} the files hold`);
    return { pullSeconds, mountSeconds, firstUsefulReadSeconds, fetchedBytes, how: how.kind, readers: threads };
  }
} finally {
  for (const cleanup of cleanups) cleanup();
  await registry.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}

/** The container mounted through FUSE by `layerfs mount --daemon` (the bench reads through the kernel, as a program would). */
async function mountBox(store: string, mountpoint: string): Promise<{ kind: string; read: (file: string) => Buffer; stop: () => void }> {
  const cli = (...args: string[]) => spawnSync(process.execPath, [builtCli, '--store', store, ...args], { encoding: 'utf8' });
  if (fs.existsSync('/dev/fuse')) {
    // Spawned asynchronously: this process's prefetch goes on meanwhile.
    const result = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [builtCli, '--store', store, 'mount', 'box', mountpoint, '--daemon'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    if (result.status === 0) {
      let stopped = false;
      return {
        kind: 'FUSE mount',
        read: (file) => {
          try {
            return fs.readFileSync(path.join(mountpoint, file));
          } catch (error) {
            const daemonLog = path.join(store, 'logs', 'mount-box.log');
            log(fs.existsSync(daemonLog) ? fs.readFileSync(daemonLog, 'utf8').split('\n').filter((line) => !line.startsWith('    at')).slice(-5).join('\n') : 'no daemon log');
            throw error;
          }
        },
        stop: () => {
          if (!stopped) cli('umount', mountpoint);
          stopped = true;
        },
      };
    }
    throw new Error(`layerfs mount failed: ${result.stderr.trim()}`);
  }
  throw new Error('FUSE is unavailable: /dev/fuse and fusermount (apt-get install fuse3) are needed for the lazy mount');
}

/**
 * `threads` threads that read the files at once, as a multi-threaded program start (or several
 * processes of a container starting) does: thread i reads files i, i + threads, ... in order, each
 * with readFileSync (the threads block in the kernel, as a program's would). Started before the
 * clock runs (a program's threads exist before it reads); `read(root)` gives the bytes read.
 */
function startReaders(files: string[], threads: number): { read: (root: string) => Promise<number>; stop: () => void } {
  const code = `const { workerData, parentPort } = require('node:worker_threads');
    const fs = require('node:fs');
    parentPort.once('message', (root) => {
      let bytes = 0;
      for (const file of workerData.files) bytes += fs.readFileSync(root + '/' + file).length;
      parentPort.postMessage(bytes);
    });`;
  const workers = Array.from({ length: threads }, (_, i) => new Worker(code, { eval: true, workerData: { files: files.filter((_, at) => at % threads === i) } }));
  return {
    async read(root) {
      const counts = workers.map((worker) => new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }));
      for (const worker of workers) worker.postMessage(root);
      return (await Promise.all(counts)).reduce((sum, count) => sum + count, 0);
    },
    stop: () => workers.forEach((worker) => void worker.terminate()),
  };
}

function countLog(text: string, method: string, prefix: string): number {
  return text.split('\n').filter((line) => line.includes(`"${method} ${prefix}`)).length;
}

/** The response size of an access-log line (`"GET /v2/... HTTP/1.1" 206 65536`). */
function responseBytes(line: string): number {
  const match = /" (\d{3}) (\d+) /.exec(line);
  return match && line.includes('"GET ') ? Number(match[2]) : 0;
}
