import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RegistryError } from './errors.js';
import type { ChunkPlace } from './lazy-records.js';

const BUFFER = 16 * 1024 * 1024;

/** A package's ESM entry for a subpath, from its package.json "exports" (require.resolve gives the CommonJS one). */
function esmEntry(packageJson: string, subpath: string): string {
  const exports = (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
  return path.join(path.dirname(packageJson), exports[subpath]!.import.default);
}

/** The start of an eval worker: answers every request with the error that stopped it loading. */
const FAILED_START = `const { parentPort, workerData } = require('node:worker_threads');
function failed(error) {
  const message = Buffer.from('the fetch worker did not start: ' + String((error && error.stack) || error));
  const state = new Int32Array(workerData.control);
  const bytes = new Uint8Array(workerData.data);
  parentPort.on('message', () => {
    bytes.set(message.subarray(0, bytes.length));
    Atomics.store(state, 1, Math.min(message.length, bytes.length));
    Atomics.store(state, 0, 2);
    Atomics.notify(state, 0);
  });
}`;

/**
 * Fetches byte ranges synchronously: BlobStore.get is synchronous (the union and the FUSE
 * front end read through it), so a lazy chunk is fetched by a worker thread while this thread
 * waits on a shared buffer, up to `timeoutMs`. A timeout ends the worker (a late answer must
 * not be taken for the next request's) and is an ENETWORK error: the read fails with EIO,
 * never with wrong bytes, and the mount keeps answering.
 */
export class SyncFetcher {
  private worker: Worker | undefined;
  private readonly control = new SharedArrayBuffer(8);
  private readonly data = new SharedArrayBuffer(BUFFER);
  private readonly state = new Int32Array(this.control);

  constructor(private readonly timeoutMs: number) {}

  /** Bytes [start, end) of the place's registry blob. */
  fetch(place: ChunkPlace, start: number, end: number): Uint8Array {
    const { record } = place;
    const worker = (this.worker ??= this.start());
    Atomics.store(this.state, 0, 0);
    worker.postMessage({
      registry: record.registry,
      scheme: record.scheme,
      caFile: record.caFile,
      insecure: record.insecure,
      repository: record.repository,
      blob: place.blob,
      start,
      end,
    });
    const waited = Atomics.wait(this.state, 0, 0, this.timeoutMs);
    const what = `${record.registry}/${record.repository}: blob ${place.blob} bytes ${start}-${end - 1}`;
    if (waited === 'timed-out') {
      void worker.terminate();
      this.worker = undefined;
      throw new RegistryError('ENETWORK', `${what}: no answer within ${this.timeoutMs / 1000} s`);
    }
    const length = Atomics.load(this.state, 1);
    const bytes = new Uint8Array(this.data, 0, length).slice();
    if (Atomics.load(this.state, 0) === 2) throw new RegistryError('ENETWORK', `${what}: ${Buffer.from(bytes).toString('utf8')}`);
    return bytes;
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private start(): Worker {
    // From source (tsx) the worker is a .ts file and needs tsx's loader; built, it is .js.
    const candidates = ['./fetch-worker.js', './registry/fetch-worker.js', '../registry/fetch-worker.js', './fetch-worker.ts'].map((file) => new URL(file, import.meta.url));
    const file = candidates.find((url) => fs.existsSync(url));
    if (!file) throw new Error(`the lazy-fetch worker is missing (looked for ${candidates.map((url) => url.pathname).join(', ')})`);
    const workerData = { control: this.control, data: this.data };
    // Node 20 does not apply `--import tsx` to a worker's entry: register tsx's loader first
    // (found from here: a daemon's working folder is /, where no node_modules is). A worker that
    // cannot start answers every request with why, rather than leave it to time out.
    const tsx = () => pathToFileURL(esmEntry(createRequire(import.meta.url).resolve('tsx/package.json'), './esm/api')).href;
    const worker = file.pathname.endsWith('.ts')
      ? new Worker(`${FAILED_START}\nimport(${JSON.stringify(tsx())}).then(({ register }) => { register(); return import(${JSON.stringify(file.href)}); }).catch(failed);`, { eval: true, workerData })
      : new Worker(file, { workerData });
    // Never keeps the process alive by itself; its errors are answered as failed fetches.
    worker.unref();
    worker.on('error', () => {
      this.worker = undefined;
    });
    return worker;
  }
}
