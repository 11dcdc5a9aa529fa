// Builds layerfs-overlay's mount client (native/overlay-client/build/layerfs-overlay-client): npm
// postinstall. A plain program, no Node headers. Without a C compiler bin/layerfs-overlay starts
// a Node server per mount instead (about 0.1 s more per mount).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.platform !== 'linux') process.exit(0);
const dir = path.dirname(fileURLToPath(import.meta.url));
const output = path.join(dir, 'build', 'layerfs-overlay-client');
try {
  fs.mkdirSync(path.dirname(output), { recursive: true });
  // The node running this install serves the mounts unless LAYERFS_NODE says otherwise.
  const node = `-DLAYERFS_BUILT_BY_NODE=${JSON.stringify(process.execPath)}`;
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', node, '-o', output, path.join(dir, 'client.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`layerfs: overlay mount client built (${output})`);
} catch (error) {
  console.warn(`layerfs: the overlay mount client could not be built (${error.message}); layerfs-overlay starts a server per mount`);
}
