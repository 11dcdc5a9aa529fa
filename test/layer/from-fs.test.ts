import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { type Inode, type Layer, WHITEOUT, layerFromFs } from '../../src/layer/index.js';
import { MemoryBlobStore, readContent } from '../../src/store/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';

function inodeAt(layer: Layer, at: string): Inode {
  const ino = layer.lookup(at);
  if (ino === undefined || ino === WHITEOUT) throw new Error(`no inode at ${at}`);
  return layer.inode(ino);
}

function bytesAt(store: MemoryBlobStore, layer: Layer, at: string): Uint8Array {
  const inode = inodeAt(layer, at);
  if (inode.kind !== 'file') throw new Error(`${at} is a ${inode.kind}`);
  return readContent(store, inode.content);
}

/** Sets both times to the nanosecond, on the link itself: fs.utimesSync cannot carry nanoseconds. */
function touch(file: string, seconds: string): void {
  execFileSync('touch', ['-h', '-d', `@${seconds}`, file]);
}

const isRoot = process.getuid?.() === 0;

describe('layerFromFs on a real directory', () => {
  function makeTree(): string {
    const root = tempDir();
    const at = (name: string) => path.join(root, name);
    fs.writeFileSync(at('file.txt'), 'hello');
    fs.chmodSync(at('file.txt'), 0o640);
    fs.writeFileSync(at('big.bin'), seededBytes(200_000, 1));
    fs.writeFileSync(at('empty'), '');
    fs.mkdirSync(at('nested/deeper'), { recursive: true });
    fs.writeFileSync(at('nested/deeper/leaf'), 'leaf');
    fs.symlinkSync('file.txt', at('link'));
    fs.symlinkSync('/nowhere/at/all', at('dangling'));
    fs.writeFileSync(at('hard1'), 'two names');
    fs.linkSync(at('hard1'), at('nested/hard2'));
    execFileSync('mkfifo', ['-m', '0600', at('fifo')]);
    fs.writeFileSync(at('setuid'), '#!/bin/sh\n');
    fs.chmodSync(at('setuid'), 0o4755);
    fs.mkdirSync(at('shared'));
    fs.chmodSync(at('shared'), 0o2775);
    fs.mkdirSync(at('tmp'));
    fs.chmodSync(at('tmp'), 0o1777);
    for (const name of ['file.txt', 'link', 'fifo', 'nested/deeper/leaf', 'nested/deeper', 'nested']) touch(at(name), '1234567890.123456789');
    return root;
  }

  it('keeps file contents, chunked as the builder says', () => {
    const store = new MemoryBlobStore();
    const root = makeTree();
    const layer = layerFromFs(store, fs, root);
    expect(Buffer.from(bytesAt(store, layer, '/file.txt')).toString()).toBe('hello');
    expectBytes(bytesAt(store, layer, '/big.bin'), seededBytes(200_000, 1));
    expect(inodeAt(layer, '/big.bin')).toMatchObject({ content: { size: 200_000, chunkSize: 65536 } });
    expect(bytesAt(store, layer, '/empty')).toHaveLength(0);
    expect(Buffer.from(bytesAt(store, layer, '/nested/deeper/leaf')).toString()).toBe('leaf');
  });

  it('keeps nested directories, symlinks and the fifo', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromFs(store, fs, makeTree());
    expect(inodeAt(layer, '/nested/deeper').kind).toBe('dir');
    expect(inodeAt(layer, '/link')).toMatchObject({ kind: 'symlink', target: 'file.txt' });
    expect(inodeAt(layer, '/dangling')).toMatchObject({ kind: 'symlink', target: '/nowhere/at/all' });
    expect(inodeAt(layer, '/fifo')).toMatchObject({ kind: 'fifo', mode: 0o600 });
    expect([...layer.walk()].map(([p]) => p)).toEqual([
      '/big.bin', '/dangling', '/empty', '/fifo', '/file.txt', '/hard1', '/link', '/nested', '/nested/deeper',
      '/nested/deeper/leaf', '/nested/hard2', '/setuid', '/shared', '/tmp',
    ]);
  });

  it('keeps a hard link as one inode with two names', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromFs(store, fs, makeTree());
    const ino = layer.lookup('/hard1')!;
    expect(layer.lookup('/nested/hard2')).toBe(ino);
    expect(layer.nlink(ino)).toBe(2);
    expect(layer.pathsOf(ino)).toEqual(['/hard1', '/nested/hard2']);
  });

  it('keeps permission bits with setuid, setgid and sticky', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromFs(store, fs, makeTree());
    expect(inodeAt(layer, '/file.txt').mode).toBe(0o640);
    expect(inodeAt(layer, '/setuid').mode).toBe(0o4755);
    expect(inodeAt(layer, '/shared').mode).toBe(0o2775);
    expect(inodeAt(layer, '/tmp').mode).toBe(0o1777);
  });

  it('keeps times to the nanosecond, for files, directories, symlinks and fifos', () => {
    const store = new MemoryBlobStore();
    const root = makeTree();
    const layer = layerFromFs(store, fs, root);
    for (const name of ['/file.txt', '/link', '/fifo', '/nested', '/nested/deeper', '/nested/deeper/leaf']) {
      expect(inodeAt(layer, name), name).toMatchObject({ mtime: 1_234_567_890_123_456_789n, atime: 1_234_567_890_123_456_789n });
      expect(inodeAt(layer, name).ctime).toBe(fs.lstatSync(path.join(root, name), { bigint: true }).ctimeNs);
    }
    expect(layer.root.mtime).toBe(fs.statSync(root, { bigint: true }).mtimeNs);
  });

  it.skipIf(!isRoot)('keeps owners, and device numbers of character and block devices', () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'owned'), '');
    fs.chownSync(path.join(root, 'owned'), 1234, 5678);
    execFileSync('mknod', ['-m', '0666', path.join(root, 'null'), 'c', '1', '3']);
    execFileSync('mknod', ['-m', '0660', path.join(root, 'loop0'), 'b', '7', '0']);
    const layer = layerFromFs(new MemoryBlobStore(), fs, root);
    expect(inodeAt(layer, '/owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(inodeAt(layer, '/null')).toMatchObject({ kind: 'chardev', rdev: (1 << 8) | 3, mode: 0o666 });
    expect(inodeAt(layer, '/loop0')).toMatchObject({ kind: 'blockdev', rdev: 7 << 8, mode: 0o660 });
  });

  it('keeps a unix socket as a socket', async () => {
    const root = tempDir();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, 'sock'), resolve));
    try {
      const layer = layerFromFs(new MemoryBlobStore(), fs, root);
      expect(inodeAt(layer, '/sock').kind).toBe('socket');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives the same id to the same tree imported twice, once reading cannot move atimes', () => {
    const store = new MemoryBlobStore();
    const root = makeTree();
    // Importing reads files (read), directories (readdir) and symlinks (readlink), and relatime
    // then moves their atime on the first access after a change (atime <= mtime or ctime). An
    // atime just ahead of ctime and mtime stays put while the test reads.
    const soon = (Date.now() / 1000 + 3600).toFixed(0);
    execFileSync('find', [root, '-exec', 'touch', '-h', '-a', '-d', `@${soon}`, '{}', '+']);
    expect(layerFromFs(store, fs, root).id).toBe(layerFromFs(store, fs, root).id);
  });

  it('reports each entry with its byte count', () => {
    const seen: [string, number][] = [];
    layerFromFs(new MemoryBlobStore(), fs, makeTree(), { onEntry: (at, bytes) => seen.push([at, bytes]) });
    expect(seen).toContainEqual(['/big.bin', 200_000]);
    expect(seen).toContainEqual(['/nested/hard2', 0]);
    expect(seen.at(-1)).toEqual(['/', 0]);
    expect(seen).toHaveLength(15);
  });
});

describe('layerFromFs on a memfs volume', () => {
  function makeVolume() {
    const volume = Volume.fromJSON({ '/root/a.txt': 'alpha', '/root/dir/b.txt': 'bravo', '/root/dir/empty': '' }, '/');
    volume.mkdirSync('/root/dir/sub');
    volume.writeFileSync('/root/dir/sub/big', Buffer.from(seededBytes(150_000, 2)));
    volume.symlinkSync('../a.txt', '/root/dir/link');
    volume.linkSync('/root/a.txt', '/root/dir/hard');
    volume.chmodSync('/root/a.txt', 0o4750);
    volume.chownSync('/root/dir/b.txt', 42, 43);
    volume.utimesSync('/root/dir/b.txt', 1_600_000_000.25, 1_600_000_001.5);
    return volume;
  }

  it('reads files, directories, symlinks and modes', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromFs(store, makeVolume(), '/root');
    expect(Buffer.from(bytesAt(store, layer, '/a.txt')).toString()).toBe('alpha');
    expectBytes(bytesAt(store, layer, '/dir/sub/big'), seededBytes(150_000, 2));
    expect(inodeAt(layer, '/dir/link')).toMatchObject({ kind: 'symlink', target: '../a.txt' });
    expect(inodeAt(layer, '/a.txt').mode).toBe(0o4750);
    expect(inodeAt(layer, '/dir/b.txt')).toMatchObject({ uid: 42, gid: 43 });
    expect(inodeAt(layer, '/dir/sub').kind).toBe('dir');
  });

  it('keeps hard links as one inode', () => {
    const layer = layerFromFs(new MemoryBlobStore(), makeVolume(), '/root');
    expect(layer.lookup('/dir/hard')).toBe(layer.lookup('/a.txt'));
    expect(layer.nlink(layer.lookup('/a.txt')!)).toBe(2);
  });

  it('takes times in nanoseconds as memfs reports them (before reading moves atime)', () => {
    const volume = makeVolume();
    const layer = layerFromFs(new MemoryBlobStore(), volume, '/root');
    expect(inodeAt(layer, '/dir/b.txt')).toMatchObject({ atime: 1_600_000_000_250_000_000n, mtime: 1_600_000_001_500_000_000n });
  });

  it('gives the same id as the same tree on a real directory', () => {
    const volume = Volume.fromJSON({ '/r/x': 'same', '/r/d/y': 'tree' }, '/');
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'd'));
    fs.writeFileSync(path.join(root, 'x'), 'same');
    fs.writeFileSync(path.join(root, 'd/y'), 'tree');
    // Pin what differs between the two: owners, modes and mtimes. utimes comes last because
    // memfs moves mtime on chmod and chown (POSIX moves only ctime).
    const entries = [['', 0o755], ['x', 0o644], ['d', 0o755], ['d/y', 0o644]] as const;
    for (const [at, mode] of entries) {
      fs.chmodSync(path.join(root, at), mode);
      volume.chmodSync(path.posix.join('/r', at), mode);
      volume.chownSync(path.posix.join('/r', at), process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    }
    for (const [at] of entries.toReversed()) {
      fs.utimesSync(path.join(root, at), 1000, 2000);
      volume.utimesSync(path.posix.join('/r', at), 1000, 2000);
    }
    const store = new MemoryBlobStore();
    const fromMemfs = layerFromFs(store, volume, '/r');
    const fromDisk = layerFromFs(store, fs, root);
    // Not atime: memfs moves a directory's atime on every lookup through it. Not ctime: it
    // cannot be set.
    const strip = (layer: Layer) => [...layer.walk()].map(([at, ino]) => {
      const { ctime: _ctime, atime: _atime, ...rest } = layer.inode(ino);
      return [at, rest];
    });
    expect(strip(fromMemfs)).toEqual(strip(fromDisk));
  });
});
