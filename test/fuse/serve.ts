/**
 * A FUSE daemon for tests, run as a child process (a process must never do synchronous I/O on a
 * mount it serves): `serve.ts MOUNTPOINT FIXTURE.json STATE_DIR`. It mounts a container of the
 * fixture image over a directory store in STATE_DIR, loads and saves its upper layer there (on
 * fsync and on SIGTERM), and prints "ready" once the mount is live.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, DirBlobStore, Image, type LayerSpec, layerFromSpec } from '../../src/index.js';
import { mountContainer } from '../../src/fuse/index.js';

const [mountpoint, fixtureFile, stateDir] = process.argv.slice(2);
if (!mountpoint || !fixtureFile || !stateDir) throw new Error('usage: serve.ts MOUNTPOINT FIXTURE.json STATE_DIR');
const store = new DirBlobStore(path.join(stateDir, 'store'));
const layers = JSON.parse(fs.readFileSync(fixtureFile, 'utf8')) as LayerSpec[];
const image = new Image(layers.map((spec) => layerFromSpec(store, spec)));
const upperFile = path.join(stateDir, 'upper');
const container = fs.existsSync(upperFile) ? Container.load(image, store, fs.readFileSync(upperFile)) : new Container(image, store);
const save = () => {
  fs.writeFileSync(`${upperFile}.tmp`, container.saveUpper());
  fs.renameSync(`${upperFile}.tmp`, upperFile);
};
const mount = await mountContainer(container, mountpoint, { onSync: save, onError: (error, op, at) => console.error(`layerfs: ${op} ${at}:`, error), log: (line) => console.error(line) });
console.log('ready');
const stop = async () => {
  await mount.unmount();
  save();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
