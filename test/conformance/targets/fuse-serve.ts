/**
 * The FUSE conformance daemon, a child process of the test: `fuse-serve.ts MOUNTPOINT`. It serves
 * the fixture image with mountMany; the first use of a name makes a fresh container, so each test
 * gets its own at MOUNTPOINT/<name>. It stops (unmounting) on SIGTERM or when stdin closes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UnionView } from '../../../src/index.js';
import { mountMany } from '../../../src/fuse/index.js';
import { fixtureFromSync } from '../../../src/testing.js';
import { FIXTURE } from '../fixture.js';

const mountpoint = process.argv[2];
if (!mountpoint) throw new Error('usage: fuse-serve.ts MOUNTPOINT');
const fixture = fixtureFromSync(FIXTURE);
const containers = new Map<string, UnionView>();
const resolve = (name: string) => {
  if (!/^t\d+$/.test(name)) return undefined;
  let container = containers.get(name);
  if (!container) containers.set(name, (container = fixture.container()));
  return container;
};
// Kernel caches off: a test checks what it just changed, through paths the kernel may have seen.
// Files a test creates are written by the kernel directly where it has passthrough (write backings).
const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-conformance-scratch-'));
const mount = await mountMany(resolve, () => [...containers.keys()], mountpoint, { scratchDir, log: (line) => console.error(line), cacheSeconds: 0, allowOther: process.getuid?.() === 0, onError: (error, op, at) => console.error(`layerfs: ${op} ${at}:`, error) });
console.log('ready');
const stop = async () => {
  await mount.unmount();
  fs.rmSync(scratchDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
