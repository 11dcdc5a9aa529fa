/**
 * Child process for the crash test: puts large distinct blobs into a DirBlobStore until killed,
 * reporting each finished put on stdout.
 */
import { DirBlobStore } from '../../../src/store/index.js';

const [root, sizeArgument] = process.argv.slice(2);
if (!root) throw new Error('usage: put-loop.ts <root> [blob size]');
const size = Number(sizeArgument ?? 4 * 1024 * 1024);
const store = new DirBlobStore(root);
const bytes = new Uint8Array(size);
for (let i = 0; ; i++) {
  // Distinct bytes for every put: a counter stamped every 4 KiB.
  const view = new DataView(bytes.buffer);
  for (let at = 0; at + 8 <= size; at += 4096) view.setFloat64(at, i + at / size);
  store.put(bytes);
  process.stdout.write(`put ${i}\n`);
}
