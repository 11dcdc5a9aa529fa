/**
 * The layerfs daemon of the FUSE benchmark, run as a child process (a process must never do
 * synchronous I/O on a mount it serves, so the benchmark measures from its parent):
 *
 *   serve.ts --mount MNT --source DIR --store memory|STORE_DIR
 *
 * Imports DIR with layerFromFs into a MemoryBlobStore (on every start) or a DirBlobStore (once:
 * the layer id is kept in STORE_DIR/layer-id and later starts load the layer from the store, as
 * `layerfs mount` would), mounts a fresh container of that image with mountContainer, and prints
 * `ready {json}` once the mount is live. SIGTERM, SIGINT or the end of stdin (the parent died)
 * unmount and exit. `profile-start` and `profile-stop FILE` on stdin profile a window (answer: ok).
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { mountContainer } from '../../src/fuse/index.js';
import { type BlobStore, Container, DirBlobStore, Image, Layer, type LayerId, MemoryBlobStore, layerFromFs } from '../../src/index.js';

const { values: flags } = parseArgs({
  options: {
    mount: { type: 'string' },
    source: { type: 'string' },
    store: { type: 'string', default: 'memory' },
  },
});
if (!flags.mount || !flags.source) throw new Error('usage: serve.ts --mount MNT --source DIR --store memory|STORE_DIR');

const started = performance.now();
let store: BlobStore;
let layer: Layer;
let imported = false;
if (flags.store === 'memory') {
  store = new MemoryBlobStore();
  layer = layerFromFs(store, fs, flags.source);
  imported = true;
} else {
  // As `layerfs import` and `layerfs mount` keep it: fsyncs gathered, small files in packs.
  const dirStore = new DirBlobStore(flags.store, { batch: true });
  store = dirStore;
  const idFile = path.join(flags.store, 'layer-id');
  if (fs.existsSync(idFile)) {
    layer = Layer.load(store, fs.readFileSync(idFile, 'utf8').trim() as LayerId);
  } else {
    layer = layerFromFs(store, fs, flags.source);
    dirStore.sync();
    fs.writeFileSync(idFile, layer.id);
    imported = true;
  }
}
const loadSeconds = (performance.now() - started) / 1000;
const container = new Container(new Image([layer]), store);
const mount = await mountContainer(container, flags.mount, {
  onError: (error, op, at) => console.error(`layerfs: ${op} ${at}:`, error),
});
console.log(`ready ${JSON.stringify({ layer: layer.id, imported, loadSeconds })}`);

// The parent's commands on stdin: `profile-start` and `profile-stop FILE` take a CPU profile of
// just the timed part of a workload (node --cpu-prof would include startup and import).
const session = new inspector.Session();
const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
let pending = '';
let counted: Record<string, number> = {};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  pending += text;
  for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
    const [command, file] = pending.slice(0, end).split(' ');
    pending = pending.slice(end + 1);
    if (command === 'counts') {
      // Requests answered since the last ask, by op.
      const now = mount.requests?.() ?? {};
      const since = Object.fromEntries(Object.entries(now).map(([op, n]) => [op, n - (counted[op] ?? 0)]).filter(([, n]) => (n as number) > 0));
      counted = now;
      console.log(`counts ${JSON.stringify(since)}`);
    } else if (command === 'profile-start') {
      session.connect();
      void post('Profiler.enable')
        .then(() => post('Profiler.start'))
        .then(() => console.log('ok'));
    } else if (command === 'profile-stop' && file) {
      void post('Profiler.stop').then((result) => {
        fs.writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
        session.disconnect();
        console.log('ok');
      });
    }
  }
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await mount.unmount();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
