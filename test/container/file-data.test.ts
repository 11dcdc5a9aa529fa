import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Container, Image, LayerBuilder, MemoryBlobStore, createFs } from '../../src/index.js';

type FileOp =
  | { op: 'write'; position: number; bytes: Uint8Array }
  | { op: 'truncate'; size: number }
  | { op: 'flush' }
  | { op: 'reload' }
  | { op: 'commit' };

const fileOp: fc.Arbitrary<FileOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), position: fc.nat(200), bytes: fc.uint8Array({ minLength: 0, maxLength: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), size: fc.nat(220) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reload' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
);

/** Applies the ops to a plain buffer: what the file must read as. */
function model(initial: Uint8Array, ops: FileOp[]): Uint8Array {
  let bytes = Buffer.from(initial);
  for (const step of ops) {
    if (step.op === 'write' && step.bytes.length > 0) {
      const end = step.position + step.bytes.length;
      if (end > bytes.length) bytes = Buffer.concat([bytes, Buffer.alloc(end - bytes.length)]);
      bytes.set(step.bytes, step.position);
    } else if (step.op === 'truncate') {
      bytes = step.size <= bytes.length ? bytes.subarray(0, step.size) : Buffer.concat([bytes, Buffer.alloc(step.size - bytes.length)]);
    }
  }
  return bytes;
}

describe('file data in a container', () => {
  it('reads back what a plain buffer holds after random writes, truncates, flushes, reloads and commits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.array(fileOp, { maxLength: 25 }), (initial, ops) => {
        const store = new MemoryBlobStore();
        // Tiny chunks so that writes straddle, extend, cut and delta many chunks.
        let image = new Image([new LayerBuilder(store, { chunkSize: 16 }).file('/f', initial).build()]);
        let c = new Container(image, store, { chunkSize: 16 });
        for (const step of ops) {
          const ino = c.resolve('/f');
          if (step.op === 'write') c.write(ino, step.position, step.bytes);
          else if (step.op === 'truncate') c.truncate(ino, step.size);
          else if (step.op === 'flush') c.flush();
          else if (step.op === 'reload') c = Container.load(image, store, c.saveUpper(), { chunkSize: 16 });
          else {
            image = c.commit().image;
            c = new Container(image, store, { chunkSize: 16 });
          }
        }
        expect(Buffer.from(c.readAll(c.resolve('/f')))).toEqual(Buffer.from(model(initial, ops)));
      }),
      { numRuns: 400 },
    );
  });

  it('stores a small in-place change as a delta and a large one as a whole chunk', () => {
    const store = new MemoryBlobStore();
    const image = new Image([new LayerBuilder(store).file('/f', new Uint8Array(64 * 1024).fill(9)).build()]);
    const c = new Container(image, store);
    const before = store.stats().storedBytes;
    c.write(c.resolve('/f'), 1000, new Uint8Array(100).fill(1));
    c.flush();
    expect(store.stats().storedBytes - before).toBe(100);
    c.write(c.resolve('/f'), 0, new Uint8Array(40_000).fill(2));
    c.flush();
    expect(store.stats().storedBytes - before).toBe(100 + 64 * 1024);
  });

  it('keeps closed files unstored like a page cache, storing the oldest past 64 MiB', () => {
    const store = new MemoryBlobStore();
    const c = new Container(new Image([new LayerBuilder(store).build()]), store);
    const fs = createFs(c);
    const mib = 1024 * 1024;
    const bytes = randomBytes(72 * mib);
    const before = store.stats().storedBytes;
    fs.writeFileSync('/first', bytes.subarray(0, mib));
    expect(store.stats().storedBytes).toBe(before);
    for (let i = 1; i < 72; i++) fs.writeFileSync(`/f${i}`, bytes.subarray(i * mib, (i + 1) * mib));
    // No fsync: the budget alone stored the least recently written files, the first among them.
    const stored = store.stats().storedBytes - before;
    expect(stored).toBeGreaterThanOrEqual(8 * mib);
    expect(stored).toBeLessThan(72 * mib);
    c.flush();
    expect(store.stats().storedBytes - before).toBe(72 * mib);
    expect(Buffer.compare(fs.readFileSync('/first'), bytes.subarray(0, mib))).toBe(0);
    expect(Buffer.compare(fs.readFileSync('/f71'), bytes.subarray(71 * mib))).toBe(0);
  });
});
