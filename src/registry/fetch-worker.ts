/**
 * The thread behind SyncFetcher: it runs the async registry client while the main thread waits
 * on a shared buffer (Atomics.wait), so a synchronous BlobStore.get can fetch a chunk. Answers go
 * into the shared buffer: state 1 with the bytes, or state 2 with an error message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RegistryClient } from './client.js';

interface FetchRequest {
  registry: string;
  scheme?: 'http' | 'https';
  caFile?: string;
  insecure?: boolean;
  repository: string;
  blob: `sha256:${string}`;
  start: number;
  end: number;
}

const { control, data } = workerData as { control: SharedArrayBuffer; data: SharedArrayBuffer };
const state = new Int32Array(control);
const bytes = new Uint8Array(data);
const clients = new Map<string, RegistryClient>();

function answer(code: 1 | 2, payload: Uint8Array): void {
  const length = Math.min(payload.length, bytes.length);
  bytes.set(payload.subarray(0, length));
  Atomics.store(state, 1, length);
  Atomics.store(state, 0, code);
  Atomics.notify(state, 0);
}

parentPort!.on('message', (request: FetchRequest) => {
  const key = JSON.stringify([request.registry, request.scheme, request.caFile, request.insecure]);
  let client = clients.get(key);
  if (!client) {
    client = new RegistryClient(request.registry, request.scheme, { ...(request.caFile ? { caFile: request.caFile } : {}), ...(request.insecure ? { insecure: true } : {}) });
    clients.set(key, client);
  }
  client.blobRange(request.repository, request.blob, request.start, request.end).then(
    (got) => (got.length > bytes.length ? answer(2, Buffer.from(`${got.length} bytes do not fit the ${bytes.length}-byte buffer`)) : answer(1, got)),
    (error: unknown) => answer(2, Buffer.from((error as Error).message ?? String(error))),
  );
});
