import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarError, type TarWriteEntry, layerFromTar, packTar, writeTar } from '../../src/image/index.js';
import { type Inode, type Layer, WHITEOUT, devMajor, devMinor, layerFromFs, makedev } from '../../src/layer/index.js';
import { MemoryBlobStore, readContent } from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;

function inodeAt(layer: Layer, at: string): Inode {
  const ino = layer.lookup(at);
  if (ino === undefined || ino === WHITEOUT) throw new Error(`no inode at ${at}`);
  return layer.inode(ino);
}

function textAt(store: MemoryBlobStore, layer: Layer, at: string): string {
  const inode = inodeAt(layer, at);
  if (inode.kind !== 'file') throw new Error(`${at} is a ${inode.kind}`);
  return Buffer.from(readContent(store, inode.content)).toString();
}

/** The tree as comparable rows: times reduced to what both sides know, hard links by first path. */
function rows(layer: Layer, times: 'ns' | 's'): unknown[] {
  const row = (inode: Inode) => {
    const { atime: _a, ctime: _c, mtime, ...rest } = inode;
    const kept = rest.kind === 'dir' ? { ...rest, children: [...rest.children.keys()] } : rest;
    return { ...kept, mtime: times === 'ns' ? mtime : mtime / 1_000_000_000n };
  };
  return [['/', row(layer.root)], ...[...layer.walk()].map(([at, ino]) => [at, layer.pathsOf(ino)[0], row(layer.inode(ino))])];
}

function fail(source: Uint8Array): Promise<TarError> {
  return layerFromTar(new MemoryBlobStore(), source).then(
    () => { throw new Error('imported without a TarError'); },
    (error: unknown) => {
      if (error instanceof TarError) return error;
      throw error;
    },
  );
}

describe('layerFromTar on archives made by GNU tar', () => {
  function makeTree(): string {
    const root = tempDir();
    const at = (name: string) => path.join(root, name);
    fs.mkdirSync(at(`${'d'.repeat(120)}/sub`), { recursive: true });
    fs.writeFileSync(at(`${'d'.repeat(120)}/sub/${'f'.repeat(200)}`), 'long');
    fs.writeFileSync(at('big.bin'), seededBytes(500_000, 1));
    fs.writeFileSync(at('zeros.bin'), new Uint8Array(300_000));
    fs.writeFileSync(at('plain'), 'plain');
    fs.chmodSync(at('plain'), 0o4750);
    fs.linkSync(at('plain'), at(`${'d'.repeat(120)}/hard`));
    fs.symlinkSync('plain', at('link'));
    fs.symlinkSync(`/${'t'.repeat(200)}`, at('long-link'));
    execFileSync('mkfifo', ['-m', '0640', at('fifo')]);
    fs.mkdirSync(at('tmp'));
    fs.chmodSync(at('tmp'), 0o1777);
    execFileSync('touch', ['-h', '-d', '@1234567890.123456789', at('plain'), at('link')]);
    return root;
  }

  it.each(['pax', 'gnu'])('gives the tree layerFromFs gives (--format=%s)', async (format) => {
    const root = makeTree();
    const archive = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', root, '.'], { maxBuffer: 1 << 28 });
    const store = new MemoryBlobStore();
    const fromTar = await layerFromTar(store, archive);
    const fromFs = layerFromFs(store, fs, root);
    // gnu keeps whole seconds; pax keeps nanoseconds. Neither keeps atime and ctime exactly
    // (tar reading the files moved their atime).
    expect(rows(fromTar, format === 'pax' ? 'ns' : 's')).toEqual(rows(fromFs, format === 'pax' ? 'ns' : 's'));
    expect(textAt(store, fromTar, `/${'d'.repeat(120)}/sub/${'f'.repeat(200)}`)).toBe('long');
    expect(inodeAt(fromTar, '/long-link')).toMatchObject({ kind: 'symlink', target: `/${'t'.repeat(200)}` });
  });

  it('keeps a hard link as one inode with two names', async () => {
    const root = makeTree();
    const layer = await layerFromTar(new MemoryBlobStore(), execFileSync('tar', ['--format=pax', '-cf', '-', '-C', root, '.']));
    const ino = layer.lookup('/plain')!;
    expect(layer.lookup(`/${'d'.repeat(120)}/hard`)).toBe(ino);
    expect(layer.nlink(ino)).toBe(2);
  });

  it('stores zeros as holes and shared chunks once', async () => {
    const root = makeTree();
    fs.writeFileSync(path.join(root, 'big-copy.bin'), seededBytes(500_000, 1));
    const store = new MemoryBlobStore();
    const layer = await layerFromTar(store, execFileSync('tar', ['-cf', '-', '-C', root, '.'], { maxBuffer: 1 << 28 }));
    const zeros = inodeAt(layer, '/zeros.bin');
    expect(zeros.kind === 'file' && zeros.content.chunks.every((chunk) => chunk === null)).toBe(true);
    const contentBlobs = store.stats().blobs - 1;
    // big.bin: 8 chunks; plain, the long file: one each; the copy and the zeros add nothing.
    expect(contentBlobs).toBe(8 + 2);
  });

  it('keeps ns times, xattrs and owners from a PAX archive', async () => {
    const root = makeTree();
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(path.join(root, 'plain'))}, 'user.k', b'v\\x00')`]);
    const archive = execFileSync('tar', ['--format=pax', '--xattrs', '--owner=1000', '--group=3000000', '-cf', '-', '-C', root, 'plain']);
    const layer = await layerFromTar(new MemoryBlobStore(), archive);
    const plain = inodeAt(layer, '/plain');
    expect(plain).toMatchObject({ mtime: 1_234_567_890_123_456_789n, uid: 1000, gid: 3_000_000, mode: 0o4750 });
    expect(plain.xattrs.get('user.k')).toEqual(Uint8Array.of(0x76, 0));
    // As set before tar read the file (reading it moved the atime on disk since).
    expect(plain.atime).toBe(1_234_567_890_123_456_789n);
  });

  it.skipIf(!isRoot)('gives devices the rdev stat reports', async () => {
    const root = tempDir();
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(root, 'disk'), 'b', '259', '70000']);
    const layer = await layerFromTar(new MemoryBlobStore(), execFileSync('tar', ['--format=pax', '-cf', '-', '-C', root, '.']));
    for (const name of ['null', 'disk']) {
      const stat = fs.lstatSync(path.join(root, name));
      expect(inodeAt(layer, `/${name}`)).toMatchObject({ rdev: stat.rdev });
    }
    expect(inodeAt(layer, '/disk').kind).toBe('blockdev');
  });
});

describe('layerFromTar member names', () => {
  it('drops leading slashes and "." components, as GNU tar does', async () => {
    const layer = await layerFromTar(new MemoryBlobStore(), packTar([
      { path: '/abs/file', type: 'file' },
      { path: './rel/file', type: 'file' },
      { path: '//a//b/./c', type: 'file' },
      { path: 'a/../inside', type: 'file' },
    ]));
    expect([...layer.walk()].map(([at]) => at)).toEqual(['/a', '/a/b', '/a/b/c', '/abs', '/abs/file', '/inside', '/rel', '/rel/file']);
  });

  it.each(['../escape', 'a/../../escape', '/../etc/passwd', '/a/../b', './..'])('rejects %s, which climbs out with ".."', async (name) => {
    const error = await fail(packTar([{ path: 'ok', type: 'file' }, { path: name, type: 'file' }]));
    expect(error.message).toMatch(/escapes the root/);
    expect(error.offset).toBe(512);
  });

  it('rejects a hard link whose target climbs out', async () => {
    const error = await fail(packTar([{ path: 'link', type: 'link', linkpath: '../../etc/shadow' }]));
    expect(error.message).toMatch(/escapes the root/);
  });

  it('takes .wh. names as plain files: whiteouts are for image import', async () => {
    const store = new MemoryBlobStore();
    const layer = await layerFromTar(store, packTar([{ path: 'etc/.wh.passwd', type: 'file' }, { path: 'etc/.wh..wh..opq', type: 'file' }]));
    expect(inodeAt(layer, '/etc/.wh.passwd').kind).toBe('file');
    expect(inodeAt(layer, '/etc/.wh..wh..opq').kind).toBe('file');
  });

  it('rejects names the layer cannot hold, with the member offset', async () => {
    const error = await fail(packTar([{ path: 'a', type: 'file' }, { path: `${'x'.repeat(256)}`, type: 'file' }]));
    expect(error.message).toMatch(/ENAMETOOLONG/);
    expect(error.offset).toBe(512);
  });
});

describe('layerFromTar members', () => {
  it('links to an earlier member only', async () => {
    const store = new MemoryBlobStore();
    const layer = await layerFromTar(store, packTar([{ path: 'first', type: 'file', data: Buffer.from('x') }, { path: 'second', type: 'link', linkpath: './first' }]));
    expect(layer.lookup('/second')).toBe(layer.lookup('/first'));
    const later = await fail(packTar([{ path: 'second', type: 'link', linkpath: 'first' }, { path: 'first', type: 'file' }]));
    expect(later.message).toMatch(/hard link "second" -> "first".*ENOENT/);
    expect(later.offset).toBe(0);
    const toDir = await fail(packTar([{ path: 'd', type: 'dir' }, { path: 'l', type: 'link', linkpath: 'd' }]));
    expect(toDir.message).toMatch(/EPERM/);
  });

  it('lets a later member replace an earlier one; a directory member keeps the children before it', async () => {
    const store = new MemoryBlobStore();
    const layer = await layerFromTar(store, packTar([
      { path: 'f', type: 'file', data: Buffer.from('old') },
      { path: 'd/child', type: 'file' },
      { path: 'f', type: 'file', data: Buffer.from('new'), mode: 0o600 },
      { path: 'd', type: 'dir', mode: 0o700, mtime: 7_000_000_000n },
    ]));
    expect(textAt(store, layer, '/f')).toBe('new');
    expect(inodeAt(layer, '/d')).toMatchObject({ mode: 0o700, mtime: 7_000_000_000n });
    expect(layer.lookup('/d/child')).toBeGreaterThan(0);
  });

  it('gives the root the metadata of a "./" member', async () => {
    const layer = await layerFromTar(new MemoryBlobStore(), packTar([{ path: './', type: 'dir', mode: 0o700, uid: 3, mtime: 9_000_000_000n }]));
    expect(layer.root).toMatchObject({ mode: 0o700, uid: 3, mtime: 9_000_000_000n, atime: 9_000_000_000n, ctime: 9_000_000_000n });
    expect(layer.size).toBe(1);
  });

  it('takes atime and ctime from mtime when the archive has none, and from PAX when it has', async () => {
    const layer = await layerFromTar(new MemoryBlobStore(), packTar([
      { path: 'plain', type: 'file', mtime: 5_000_000_000n },
      { path: 'pax', type: 'file', mtime: 5_000_000_001n, atime: -1n, ctime: 6n },
    ]));
    expect(inodeAt(layer, '/plain')).toMatchObject({ atime: 5_000_000_000n, ctime: 5_000_000_000n });
    expect(inodeAt(layer, '/pax')).toMatchObject({ mtime: 5_000_000_001n, atime: -1n, ctime: 6n });
  });

  it('makes device numbers as Linux does', async () => {
    const layer = await layerFromTar(new MemoryBlobStore(), packTar([
      { path: 'null', type: 'chardev', devmajor: 1, devminor: 3 },
      { path: 'big', type: 'blockdev', devmajor: 4097, devminor: 70000 },
      { path: 'fifo', type: 'fifo', mode: 0o600 },
    ]));
    expect(inodeAt(layer, '/null')).toMatchObject({ kind: 'chardev', rdev: 259 });
    const big = inodeAt(layer, '/big');
    expect(big.kind === 'blockdev' && [devMajor(big.rdev), devMinor(big.rdev)]).toEqual([4097, 70000]);
    expect(makedev(259, 70000)).toBe(0x11110370);
    expect(inodeAt(layer, '/fifo')).toMatchObject({ kind: 'fifo', mode: 0o600 });
  });

  it('rejects member types a layer has no kind for', async () => {
    const archive = packTar([{ path: 'label', type: 'file' }]);
    archive[156] = 'V'.charCodeAt(0);
    // Re-sum the header after changing its typeflag.
    archive.fill(0x20, 148, 156);
    const sum = archive.subarray(0, 512).reduce((total, byte) => total + byte, 0);
    archive.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    expect((await fail(archive)).message).toMatch(/unsupported member type "V"/);
  });

  it('gives the same layer for the same archive, and reports each member', async () => {
    const archive = packTar([{ path: 'a', type: 'file', data: Buffer.from('abc') }, { path: 'b', type: 'dir' }]);
    const seen: [string, number][] = [];
    const store = new MemoryBlobStore();
    const first = await layerFromTar(store, archive, { onEntry: (at, bytes) => seen.push([at, bytes]) });
    expect((await layerFromTar(store, archive)).id).toBe(first.id);
    expect(seen).toEqual([['/a', 3], ['/b', 0]]);
  });

  it('streams a 9 GiB member into chunks without holding it', async () => {
    const size = 9 * 2 ** 30;
    const piece = 1024 * 1024;
    const tail = seededBytes(piece, 9);
    const zeros = new Uint8Array(piece);
    async function* data() {
      for (let sent = 0; sent < size - piece; sent += piece) yield zeros;
      yield tail;
    }
    const entries: TarWriteEntry[] = [{ path: 'huge', type: 'file', size, data: data() }, { path: 'after', type: 'file', data: Buffer.from('after') }];
    const store = new MemoryBlobStore();
    const before = process.memoryUsage();
    const layer = await layerFromTar(store, writeTar(entries));
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 2 ** 20);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(128 * 2 ** 20);
    const huge = inodeAt(layer, '/huge');
    if (huge.kind !== 'file') throw new Error('not a file');
    expect(huge.content.size).toBe(size);
    expect(huge.content.chunks).toHaveLength(size / 65536);
    expectBytes(readContent(store, huge.content, size - piece, piece), tail);
    expectBytes(readContent(store, huge.content, 2 ** 32, 100), new Uint8Array(100));
    expect(textAt(store, layer, '/after')).toBe('after');
    // The tail's 16 chunks, the small file, the layer.
    expect(store.stats().blobs).toBe(16 + 1 + 1);
  });
});
