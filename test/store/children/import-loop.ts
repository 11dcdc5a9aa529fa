/**
 * Child process for the crash test: imports distinct multi-chunk files (each an object) into a
 * DirBlobStore until killed, reporting each finished file on stdout.
 */
import { DirBlobStore, putContent } from '../../../src/store/index.js';

const [root, sizeArgument] = process.argv.slice(2);
if (!root) throw new Error('usage: import-loop.ts <root> [file size]');
const size = Number(sizeArgument ?? 4 * 1024 * 1024);
const store = new DirBlobStore(root, { batch: true });
const bytes = new Uint8Array(size);
for (let i = 0; ; i++) {
  // Distinct bytes in every chunk of every file: a counter stamped every 4 KiB.
  const view = new DataView(bytes.buffer);
  for (let at = 0; at + 8 <= size; at += 4096) view.setFloat64(at, i + at / size);
  putContent(store, bytes);
  if (i % 4 === 3) store.sync();
  process.stdout.write(`file ${i}\n`);
}
