/**
 * Reads files of a container in a process of its own, as the CLI would (the store opened with
 * lazy reads), and prints per path its sha256 or its error code as JSON. Lazy reads block the
 * thread that reads: a registry served by the test process itself must be read from elsewhere.
 * Usage: tsx read-files.ts STORE CONTAINER PATH...
 */
import { createHash } from 'node:crypto';
import { Engine } from '../../src/container/index.js';
import { createFs } from '../../src/fs/index.js';
import { lazyReads } from '../../src/registry/index.js';

const [store, container, ...paths] = process.argv.slice(2);
const engine = Engine.open(store!, { durable: false, reads: lazyReads(store!) });
const box = createFs(engine.openContainer(container!));
const results: Record<string, string> = {};
for (const path of paths) {
  try {
    results[path] = createHash('sha256').update(box.readFileSync(path)).digest('hex');
  } catch (error) {
    results[path] = (error as NodeJS.ErrnoException).code ?? String(error);
  }
}
process.stdout.write(JSON.stringify(results));
