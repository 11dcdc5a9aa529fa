/**
 * A daemon for the invalidation test: `api-serve.ts MOUNTPOINT`. It mounts a container of a small
 * fixture with a long cache (60 s), prints "ready", then runs commands from stdin through the
 * in-memory fs API of the same container (one JSON line each: ["writeFileSync", path, data]…)
 * and answers "done" after each.
 */
import * as readline from 'node:readline';
import { createFs } from '../../src/fs/index.js';
import { mountContainer } from '../../src/fuse/index.js';
import { fixtureFromSync } from '../../src/testing.js';

const mountpoint = process.argv[2];
if (!mountpoint) throw new Error('usage: api-serve.ts MOUNTPOINT');
const container = fixtureFromSync({ '/file.txt': 'old content\n', '/gone.txt': 'soon gone\n', '/dir/a': 'a' }).container();
const fs = createFs(container) as unknown as Record<string, (...args: unknown[]) => unknown>;
const mount = await mountContainer(container, mountpoint, { cacheSeconds: 60, onError: (error, op, at) => console.error(`layerfs: ${op} ${at}:`, error) });
console.log('ready');
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [method, ...args] = JSON.parse(line) as [string, ...unknown[]];
  fs[method]!(...args);
  console.log('done');
}
await mount.unmount();
