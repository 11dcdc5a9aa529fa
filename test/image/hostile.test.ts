import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HOSTILE_DIR, hostileFixtures } from '../../fixtures/image/make-fixtures.js';
import { ImageError, TarError, importImage, importLayer, tarHeader, tarPadding, TAR_END } from '../../src/image/index.js';
import { Engine, MemoryBlobStore, WHITEOUT, readContent } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

const fixtures = hostileFixtures();

function fixture(name: string): Uint8Array {
  return fs.readFileSync(path.join(HOSTILE_DIR, name));
}

/** The error a layer import ends with (it must be one). */
async function failure(bytes: Uint8Array): Promise<Error> {
  return importLayer(new MemoryBlobStore(), bytes).then(
    () => { throw new Error('imported without an error'); },
    (error: Error) => error,
  );
}

describe('hostile layer fixtures', () => {
  it('are the bytes fixtures/image/make-fixtures.ts writes', () => {
    for (const [name, { bytes }] of Object.entries(fixtures)) expect(Buffer.compare(fixture(name), bytes), name).toBe(0);
    expect(fs.readdirSync(HOSTILE_DIR).filter((name) => name !== 'README.md').sort()).toEqual(Object.keys(fixtures).sort());
  });

  // Each gets a TarError (an Error subclass with the offset) naming the member and the reason.
  it.each([
    ['dotdot.tar', /member name "..\/escape" escapes the root with '..'/],
    ['absolute-dotdot.tar', /"\/..\/etc\/passwd" escapes the root/],
    ['symlink-plant.tar', /member "evil\/passwd" goes through symlink "\/evil" set earlier in the archive/],
    ['symlink-plant-relative.tar', /member "a\/up\/tmp\/x" goes through symlink "\/a\/up"/],
    ['hardlink-outside.tar', /escapes the root/],
    ['hardlink-absent.tar', /hard link "l" -> "\/etc\/shadow".*ENOENT.*not in layer/],
    ['hardlink-through-symlink.tar', /hard link "l" -> "etc\/shadow".*ENOENT/],
    ['whiteout-dotdot.tar', /whiteout "a\/.wh..." cannot hide ".."/],
    ['whiteout-dot.tar', /whiteout "a\/.wh.." cannot hide "."/],
    ['size-too-large.tar', /truncated archive: "liar" has 1048576 bytes of data/],
    ['size-too-small.tar', /not a tar header: checksum mismatch/],
    ['truncated-header.tar', /truncated archive: header block has 300 of 512 bytes/],
    ['garbage.bin', /not a tar header/],
    ['name-component-too-long.tar', /ENAMETOOLONG/],
    ['path-too-long.tar', /member name of 6299 bytes is longer than PATH_MAX/],
    ['nul-in-name.tar', /name contains NUL/],
    ['nul-in-symlink.tar', /symlink "l" has a target containing NUL/],
    ['invalid-utf8-name.tar', /member name is not valid UTF-8: "caf\\xe9"/],
    ['invalid-utf8-pax.tar', /PAX path is not valid UTF-8: "f\\xff\\xfe"/],
    ['pax-binary-charset.tar', /hdrcharset "BINARY" is not supported/],
  ])('%s is refused clearly', async (name, message) => {
    const error = await failure(fixture(name));
    expect(error).toBeInstanceOf(TarError);
    expect(error.message).toMatch(message);
  });

  it('absolute.tar is contained: /etc/passwd is the layer\'s own', async () => {
    const store = new MemoryBlobStore();
    const { layer } = await importLayer(store, fixture('absolute.tar'));
    const inode = layer.inode(layer.lookup('/etc/passwd')!);
    expect(inode.kind === 'file' && Buffer.from(readContent(store, inode.content)).toString()).toBe('contained');
  });

  it('duplicates.tar: the last member of a name wins, as docker extracts it', async () => {
    const store = new MemoryBlobStore();
    const { layer } = await importLayer(store, fixture('duplicates.tar'));
    const f = layer.inode(layer.lookup('/f')!);
    const d = layer.inode(layer.lookup('/d')!);
    expect(f.kind === 'file' && Buffer.from(readContent(store, f.content)).toString()).toBe('new');
    expect(d.kind === 'file' && Buffer.from(readContent(store, d.content)).toString()).toBe('file now');
    expect(layer.lookup('/d/child')).toBeUndefined();
  });

  it('gives the same errors gzipped, and through image import as ImageErrors naming the archive', async () => {
    for (const name of ['symlink-plant.tar', 'invalid-utf8-name.tar', 'whiteout-dotdot.tar']) {
      const plain = await failure(fixture(name));
      expect((await failure(gzipSync(fixture(name)))).message).toBe(plain.message);
      const viaImage = await importImage(new MemoryBlobStore(), fixture(name), { format: 'layer' }).catch((error: Error) => error);
      expect(viaImage).toBeInstanceOf(ImageError);
      expect((viaImage as Error).message).toContain(plain.message);
      expect((viaImage as ImageError).cause).toBeInstanceOf(TarError);
    }
  });

  it('changes nothing outside the store, and a failed import leaves no image', async () => {
    const root = tempDir();
    const storeDir = path.join(root, 'store');
    const victim = path.join(root, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'passwd'), 'original');
    const engine = Engine.open(storeDir, { durable: false });
    const before = fs.readdirSync(root).sort();
    for (const name of Object.keys(fixtures)) {
      if (name === 'absolute.tar' || name === 'duplicates.tar') continue;
      const archive = path.join(root, name);
      fs.writeFileSync(archive, fixture(name));
      // Run from inside the victim folder: a relative write would land there.
      const cwd = process.cwd();
      process.chdir(victim);
      try {
        await expect(importImage(engine.store, archive)).rejects.toBeInstanceOf(ImageError);
      } finally {
        process.chdir(cwd);
      }
      fs.rmSync(archive);
    }
    expect(fs.readdirSync(root).sort()).toEqual(before);
    expect(fs.readdirSync(victim)).toEqual(['passwd']);
    expect(fs.readFileSync(path.join(victim, 'passwd'), 'utf8')).toBe('original');
    expect(engine.images()).toEqual([]);
    engine.gc();
    expect(engine.verify().ok).toBe(true);
  });
});

describe('gzip bombs', () => {
  /** A gzip of a tar holding one file of `size` zeros, made of repeated small gzip members (fast to build). */
  function bomb(size: number): Buffer {
  const block = 1024 * 1024;
    const zeros = gzipSync(new Uint8Array(block), { level: 9 });
    const parts = [gzipSync(tarHeader({ path: 'zeros', type: 'file', size }))];
    for (let sent = 0; sent < size; sent += block) parts.push(zeros);
    parts.push(gzipSync(Buffer.concat([tarPadding(size), TAR_END])));
    return Buffer.concat(parts);
  }

  it('stops at the size limit with ELIMIT', async () => {
    const archive = bomb(256 * 1024 * 1024);
    expect(archive.length).toBeLessThan(400_000);
    const error = await importLayer(new MemoryBlobStore(), archive, { maxSize: 16 * 1024 * 1024 }).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({ code: 'ELIMIT' });
    expect((error as Error).message).toMatch(/larger than the limit of 16777216 bytes/);
  });

  it('expands 1 GiB within bounded memory when the limit allows it', async () => {
    const archive = bomb(2 ** 30);
    const store = new MemoryBlobStore();
    const before = process.memoryUsage();
    const imported = await importLayer(store, archive);
    const after = process.memoryUsage();
    expect(imported.tarSize).toBe(2 ** 30 + 512 + 1024);
    const inode = imported.layer.inode(imported.layer.lookup('/zeros')!);
    expect(inode.kind === 'file' && inode.content.size).toBe(2 ** 30);
    // Zeros are holes: nothing stored but the layer itself.
    expect(store.stats().blobs).toBe(1);
    expect(after.rss - before.rss).toBeLessThan(200 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
  });

  it('stops an interrupted import with the signal\'s reason', async () => {
    const controller = new AbortController();
    let entries = 0;
    const archive = bomb(64 * 1024 * 1024);
    const source = (async function* () {
      for (let at = 0; at < archive.length; at += 4096) {
        if (at > 8192) controller.abort(new Error('interrupted'));
        yield archive.subarray(at, at + 4096);
      }
    })();
    const error = await importLayer(new MemoryBlobStore(), source, { signal: controller.signal, onEntry: () => entries++ }).catch((caught: Error) => caught);
    expect((error as Error).message).toBe('interrupted');
    expect(entries).toBe(0);
  });
});

describe('hostile names stay data', () => {
  it('whiteouts of ordinary names with odd bytes are kept exactly', async () => {
    const name = 'ünï cødé\ttab';
    const { packTar } = await import('../../src/image/index.js');
    const { layer } = await importLayer(new MemoryBlobStore(), packTar([{ path: `d/.wh.${name}`, type: 'file' }, { path: `d/${name}2`, type: 'file' }]));
    expect(layer.lookup(`/d/${name}`)).toBe(WHITEOUT);
    expect(layer.lookup(`/d/${name}2`)).toBeGreaterThan(0);
  });
});
