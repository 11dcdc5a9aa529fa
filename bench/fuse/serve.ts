/**
 * The layerfs daemon of the FUSE benchmark, run as a child process (a process must never do
 * synchronous I/O on a mount it serves, so the benchmark measures from its parent):
 *
 *   serve.ts --mount MNT --source DIR --store memory|STORE_DIR
 *
 * Imports DIR with layerFromFs into a MemoryBlobStore and mounts a fresh container of it with
 * mountContainer (on every start), or serves a fresh container from an engine store in STORE_DIR
 * exactly as `layerfs mount` does (the import happens once, on the first start), and prints
 * `ready {json}` once the mount is live. SIGTERM, SIGINT or the end of stdin (the parent died)
 * unmount and exit. `profile-start` and `profile-stop FILE` on stdin profile a window (answer: ok).
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { serveContainer, serveDefaults } from '../../src/cli/serve.js';
import { mountContainer } from '../../src/fuse/index.js';
import { type BlobStore, Container, Engine, Image, Layer, type LayerId, MemoryBlobStore, layerFromFs } from '../../src/index.js';

const { values: flags } = parseArgs({
  options: {
    mount: { type: 'string' },
    source: { type: 'string' },
    store: { type: 'string', default: 'memory' },
  },
});
if (!flags.mount || !flags.source) throw new Error('usage: serve.ts --mount MNT --source DIR --store memory|STORE_DIR');

const started = performance.now();
let layer: LayerId;
let imported = false;
let mount: { requests?(): Record<string, number>; unmount(): Promise<void> };
if (flags.store === 'memory') {
  const store: BlobStore = new MemoryBlobStore();
  layer = layerFromFs(store, fs, flags.source).id;
  imported = true;
  const container = new Container(new Image([Layer.load(store, layer)]), store);
  const mounted = await mountContainer(container, flags.mount, { onError: (error, op, at) => console.error(`layerfs: ${op} ${at}:`, error) });
  mount = { requests: mounted.requests, unmount: () => mounted.unmount() };
} else {
  // What `layerfs mount` does: the engine's store, a fresh container, the command's own serving.
  const engine = Engine.open(flags.store);
  if (!engine.images().some((image) => image.name === 'tree')) {
    engine.importDirectory(flags.source, 'tree');
    imported = true;
  }
  layer = engine.imageRecord('tree').layers[0]!;
  if (engine.containers().some((container) => container.name === 'bench')) {
    // What the last run wrote is garbage now: collected, or the benchmark's tmpfs fills up.
    engine.rm('bench');
    engine.gc();
  }
  engine.create('tree', 'bench');
  const serving = await serveContainer(engine, 'bench', flags.mount, serveDefaults((line) => console.error(line)));
  mount = { requests: serving.requests, unmount: () => serving.stop() };
}
const loadSeconds = (performance.now() - started) / 1000;
console.log(`ready ${JSON.stringify({ layer, imported, loadSeconds })}`);

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
