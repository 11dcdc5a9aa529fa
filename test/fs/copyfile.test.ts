import { describe, expect, it } from 'vitest';
import { Container, Image, LayerBuilder, MemoryBlobStore, createFs } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';

/** An image holding one large file of distinct chunks, and a container fs over it. */
function bigFile(size = 1024 * 1024) {
  const store = new MemoryBlobStore();
  const data = seededBytes(size, 7);
  const image = new Image([new LayerBuilder(store).file('/big', data).file('/small', 'tiny').build()]);
  const container = new Container(image, store);
  return { store, image, container, data, fs: createFs(container) };
}

describe('copyFile shares chunks instead of copying bytes', () => {
  it('a copy of a lower file stores no new blob, whatever its size', () => {
    const { fs, store, data } = bigFile();
    const before = store.stats();
    fs.copyFileSync('/big', '/copy');
    fs.copyFileSync('/big', '/clone', fs.constants.COPYFILE_FICLONE);
    fs.copyFileSync('/big', '/forced', fs.constants.COPYFILE_FICLONE_FORCE);
    expect(store.stats().blobs).toBe(before.blobs);
    expect(store.stats().storedBytes).toBe(before.storedBytes);
    expect(Buffer.compare(fs.readFileSync('/copy'), data)).toBe(0);
    expect(fs.statSync('/copy').ino).not.toBe(fs.statSync('/big').ino);
  });

  it('a write to the copy changes only the copy and adds about one chunk', () => {
    const { fs, store, data } = bigFile();
    fs.copyFileSync('/big', '/copy');
    const before = store.stats().storedBytes;
    const fd = fs.openSync('/copy', 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 200_000);
    fs.closeSync(fd);
    expect(store.stats().storedBytes - before).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.compare(fs.readFileSync('/big'), data)).toBe(0);
    expect(fs.readFileSync('/copy').subarray(200_000, 204_096).every((byte) => byte === 1)).toBe(true);
  });

  it('a copy of a file written in the container shares its flushed chunks', () => {
    const { fs, store } = bigFile();
    const written = seededBytes(300_000, 99);
    fs.writeFileSync('/mine', written);
    const fd = fs.openSync('/mine', 'r+');
    // Closing a file leaves its chunks dirty, as a page cache does; fsync stores them.
    fs.fsyncSync(fd);
    fs.writeSync(fd, 'dirty', 0);
    const blobs = store.stats().blobs;
    fs.copyFileSync('/mine', '/mine-copy');
    const afterCopy = store.stats().blobs;
    fs.closeSync(fd);
    // Only the source's own dirty chunk was flushed (it had to be, to be shared): one blob.
    expect(afterCopy - blobs).toBeLessThanOrEqual(1);
    expect(fs.readFileSync('/mine-copy').subarray(0, 5).toString()).toBe('dirty');
    expect(Buffer.compare(fs.readFileSync('/mine-copy').subarray(5), written.subarray(5))).toBe(0);
    fs.writeFileSync('/mine', 'overwritten');
    expect(fs.statSync('/mine-copy').size).toBe(300_000);
  });

  it('cp -r shares chunks too', () => {
    const { fs, store } = bigFile();
    fs.mkdirSync('/tree/deeper', { recursive: true });
    fs.copyFileSync('/big', '/tree/deeper/big');
    const blobs = store.stats().blobs;
    fs.cpSync('/tree', '/tree2', { recursive: true });
    expect(store.stats().blobs).toBe(blobs);
    expect(fs.statSync('/tree2/deeper/big').size).toBe(1024 * 1024);
  });

  it('a cloned file survives saveUpper and load, and commit', () => {
    const { fs, container, image, store, data } = bigFile();
    fs.writeFileSync('/upper-file', 'written in the container');
    fs.copyFileSync('/big', '/copy-of-lower');
    fs.copyFileSync('/upper-file', '/copy-of-upper');
    const loaded = createFs(Container.load(image, store, container.saveUpper()));
    expect(Buffer.compare(loaded.readFileSync('/copy-of-lower'), data)).toBe(0);
    expect(loaded.readFileSync('/copy-of-upper', 'utf8')).toBe('written in the container');
    const committed = createFs(new Container(container.commit().image, store));
    expect(Buffer.compare(committed.readFileSync('/copy-of-lower'), data)).toBe(0);
    expect(committed.readFileSync('/copy-of-upper', 'utf8')).toBe('written in the container');
  });
});
