/**
 * Child process for the threads test: several worker threads of one process open the same
 * DirBlobStore and put distinct blobs at once; prints the digests they got as JSON.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DirBlobStore } from '../../../src/store/index.js';

interface Job {
  root: string;
  worker: number;
  count: number;
}

// A worker does not inherit the tsx loader (not even through execArgv): it registers it itself.
const TSX_BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); });`;

if (isMainThread) {
  const [root, workersArgument, countArgument] = process.argv.slice(2);
  if (!root) throw new Error('usage: threads.ts <root> [workers] [puts per worker]');
  const workers = Number(workersArgument ?? 2);
  const count = Number(countArgument ?? 200);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, worker) => new Promise<string[]>((resolve, reject) => {
      const thread = new Worker(TSX_BOOTSTRAP, { eval: true, workerData: { root, worker, count } satisfies Job });
      thread.once('message', resolve);
      thread.once('error', reject);
    })),
  );
  process.stdout.write(JSON.stringify(results.flat()));
} else {
  const { root, worker, count } = workerData as Job;
  const digests: string[] = [];
  const bytes = new Uint8Array(256 * 1024);
  for (let i = 0; i < count; i++) {
    // Every put opens the store anew, as separate components would: opening must not delete
    // the temporary file a sibling thread is writing.
    const store = new DirBlobStore(root, { durable: false });
    bytes.fill(worker * 16 + 1);
    new DataView(bytes.buffer).setUint32(0, i);
    digests.push(store.put(bytes));
  }
  parentPort!.postMessage(digests);
}
