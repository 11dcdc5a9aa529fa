/**
 * Child process for the engine crash test: rewrites /counter (and a chunk of /data) in a
 * container and saves it, over and over until killed; prints `saved N` after each save returns.
 */
import { Engine } from '../../../src/index.js';

const [dir, name] = process.argv.slice(2);
if (!dir || !name) throw new Error('usage: save-loop.ts <store> <container>');
const engine = Engine.open(dir);
const container = engine.openContainer(name);
const data = container.exists('/data') ? container.resolve('/data') : container.createFile('/data');
for (let i = 1; ; i++) {
  const counter = container.exists('/counter') ? container.resolve('/counter') : container.createFile('/counter');
  container.truncate(counter, 0);
  container.write(counter, 0, Buffer.from(String(i)));
  // A fresh chunk per round, so every save puts chunk blobs as well as the upper layer.
  container.write(data, (i % 16) * 65536, Buffer.alloc(65536, i & 0xff));
  engine.saveContainer(name, container);
  process.stdout.write(`saved ${i}\n`);
}
