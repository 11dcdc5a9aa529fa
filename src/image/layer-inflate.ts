import { Worker } from 'node:worker_threads';
import { type OciDigest } from './digest.js';
import { ImageError } from './errors.js';

/** What the worker learnt of a layer blob once its last byte passed. */
export interface InflatedDigests {
  /** sha256 of the blob as given, and of the tar it holds (the diff id). */
  digest: OciDigest;
  diffId: OciDigest;
  size: number;
  tarSize: number;
  compression: 'gzip' | 'none';
}

/** Compressed bytes on their way to the worker, and tar bytes on their way back, at most. */
const AHEAD = 8 * 1024 * 1024;

/**
 * The worker: sniffs the compression from the first bytes (as docker does, not trusting a media
 * type), hashes the blob, inflates gzip (several members too, as gzip -d does), hashes the tar,
 * and sends the tar back. `took` tells the main thread a piece of the blob was inflated, so it
 * sends no more than AHEAD bytes ahead; the tar's reader acknowledges what it consumed, and the
 * inflater pauses while AHEAD bytes of tar wait for it. CommonJS from a string: it needs only
 * Node's own modules, so it starts the same from source (tsx) and built.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const zlib = require('node:zlib');
const { maxSize, ahead } = workerData;
const raw = createHash('sha256');
const tar = createHash('sha256');
let size = 0, tarSize = 0, unacked = 0, head = [], headBytes = 0, compression, inflater, failed = false;
const waiting = [];
const whenRoom = (done) => (unacked <= ahead ? done() : waiting.push(done));
const fail = (code, message) => { if (!failed) parentPort.postMessage({ type: 'error', code, message }); failed = true; };
function emit(chunk) {
  if (failed) return;
  tarSize += chunk.length;
  if (tarSize > maxSize) return fail('ELIMIT', '');
  tar.update(chunk);
  unacked += chunk.length;
  const copy = new Uint8Array(chunk);
  parentPort.postMessage({ type: 'tar', chunk: copy }, [copy.buffer]);
  if (inflater && unacked > ahead) inflater.pause();
}
function start(first) {
  const gzip = first[0] === 0x1f && first[1] === 0x8b;
  const other = [[0x28, 0xb5, 0x2f, 0xfd, 'zstd'], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 'xz'], [0x42, 0x5a, 0x68, 'bzip2']]
    .find((magic) => magic.slice(0, -1).every((byte, at) => first[at] === byte));
  if (other) return fail('EUNSUPPORTED', other.at(-1));
  compression = gzip ? 'gzip' : 'none';
  if (!gzip) return;
  inflater = zlib.createGunzip({ chunkSize: 256 * 1024 });
  inflater.on('data', emit);
  inflater.on('error', (error) => fail('EFORMAT', error.message));
  inflater.on('end', finish);
}
function take(chunk, done) {
  if (failed) return done();
  if (compression === undefined) {
    head.push(chunk); headBytes += chunk.length;
    if (headBytes < 6) return done();
    chunk = Buffer.concat(head); head = [];
    start(chunk);
    if (failed) return done();
  }
  if (inflater) inflater.write(chunk, () => whenRoom(done));
  else { emit(chunk); whenRoom(done); }
}
function finish() {
  if (failed) return;
  parentPort.postMessage({ type: 'done', digest: 'sha256:' + raw.digest('hex'), diffId: 'sha256:' + tar.digest('hex'), size, tarSize, compression });
}
parentPort.on('message', (message) => {
  if (message.type === 'bytes') {
    const chunk = Buffer.from(message.chunk.buffer);
    size += chunk.length;
    raw.update(chunk);
    take(chunk, () => parentPort.postMessage({ type: 'took', bytes: chunk.length }));
  } else if (message.type === 'ack') {
    unacked -= message.bytes;
    if (unacked > ahead) return;
    inflater?.resume();
    while (waiting.length > 0 && unacked <= ahead) waiting.shift()();
  } else if (message.type === 'end') {
    if (compression === undefined) {
      const rest = Buffer.concat(head); head = [];
      start(rest);
      if (failed) return;
      if (inflater) inflater.write(rest); else emit(rest);
    }
    if (inflater) inflater.end(); else finish();
  }
});
`;

/**
 * A layer blob inflated and hashed on a worker thread, while this thread parses the tar and
 * stores its files: the two sha256 digests (blob and diff id) and zlib cost a pull as much as the
 * import itself, and a second core does them. `tar` yields the uncompressed tar (all of it, the
 * padding after its end included); `digests` settles once the last byte passed. Errors are
 * ImageErrors naming `what`: EUNSUPPORTED for zstd, xz, bzip2; EFORMAT for corrupt or truncated
 * gzip; ELIMIT past `maxSize` bytes of tar (a gzip bomb stops there).
 */
export function inflateLayer(source: AsyncIterable<Uint8Array>, options: { maxSize: number; what: string; signal?: AbortSignal }): { tar: AsyncGenerator<Uint8Array>; digests: Promise<InflatedDigests> } {
  const { maxSize, what, signal } = options;
  const worker = new Worker(WORKER, { eval: true, workerData: { maxSize, ahead: AHEAD } });
  const pieces: Uint8Array[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let sent = 0;
  let took = 0;
  let tookWake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
    tookWake?.();
    tookWake = undefined;
  };
  let settle!: { resolve: (value: InflatedDigests) => void; reject: (error: unknown) => void };
  const digests = new Promise<InflatedDigests>((resolve, reject) => (settle = { resolve, reject }));
  // Awaited by whoever reads `tar`; never an unhandled rejection when nobody asks.
  digests.catch(() => {});
  const stop = (error: unknown) => {
    failure ??= error;
    settle.reject(failure);
    notify();
  };
  worker.on('message', (message: { type: string; chunk?: Uint8Array; bytes?: number; code?: string; message?: string } & Partial<InflatedDigests>) => {
    if (message.type === 'tar') pieces.push(message.chunk!);
    else if (message.type === 'took') took += message.bytes!;
    else if (message.type === 'done') {
      ended = true;
      settle.resolve({ digest: message.digest!, diffId: message.diffId!, size: message.size!, tarSize: message.tarSize!, compression: message.compression! });
    } else if (message.type === 'error') stop(workerError(message.code!, message.message!, what, maxSize));
    notify();
  });
  worker.on('error', stop);
  // Feeds the blob to the worker as it arrives, at most AHEAD bytes ahead of the inflater.
  const feeding = (async () => {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      if (failure) return;
      // A copy of its own to hand over: the chunk may share its memory, and a download copy may
      // still be writing it.
      const copy = new Uint8Array(chunk);
      worker.postMessage({ type: 'bytes', chunk: copy }, [copy.buffer]);
      sent += chunk.length;
      while (sent - took > AHEAD && !failure) await new Promise<void>((resolve) => (tookWake = resolve));
    }
    worker.postMessage({ type: 'end' });
  })().catch(stop);

  async function* tar(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        signal?.throwIfAborted();
        const piece = pieces.shift();
        if (piece) {
          worker.postMessage({ type: 'ack', bytes: piece.length });
          yield piece;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      if (!ended) stop(new Error('the tar reader stopped'));
      await feeding;
      await worker.terminate();
    }
  }
  return { tar: tar(), digests };
}

function workerError(code: string, message: string, what: string, maxSize: number): ImageError {
  if (code === 'EUNSUPPORTED') return new ImageError('EUNSUPPORTED', `${what} is ${message}-compressed; layerfs reads uncompressed and gzip layers`);
  if (code === 'ELIMIT') return new ImageError('ELIMIT', `${what} is larger than the limit of ${maxSize} bytes uncompressed (a gzip bomb, or raise maxSize)`);
  return new ImageError('EFORMAT', `${what} is not valid gzip: ${message}`);
}
