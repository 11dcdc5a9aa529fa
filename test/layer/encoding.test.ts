import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/layer/codec.js';
import { type Inode, Layer, LayerBuilder, ROOT, WHITEOUT, decodeLayer, encodeLayer, layerFromSpec } from '../../src/layer/index.js';
import { MemoryBlobStore, type Digest, putContent, readContent, xxh64 } from '../../src/store/index.js';
import { text } from '../helpers/bytes.js';
import { KIND, craftLayer, dir } from './craft.js';

/** Xattr values as plain Uint8Array: a spec gives Buffers, decoding gives Uint8Arrays. */
function plain(inode: Inode): Inode {
  return { ...inode, xattrs: new Map([...inode.xattrs].map(([name, value]) => [name, new Uint8Array(value)])) };
}

/** Loads the layer back from its id and checks every inode came back equal. */
function reload(store: MemoryBlobStore, layer: Layer): Layer {
  const loaded = Layer.load(store, layer.id);
  expect(loaded.size).toBe(layer.size);
  for (let ino = ROOT; ino <= layer.size; ino++) expect(plain(loaded.inode(ino))).toEqual(plain(layer.inode(ino)));
  return loaded;
}

function inodeAt(layer: Layer, path: string): Inode {
  const ino = layer.lookup(path);
  if (ino === undefined || ino === WHITEOUT) throw new Error(`no inode at ${path}`);
  return layer.inode(ino);
}

describe('encoding round trip', () => {
  it('keeps a regular file with its content, owner and mode', () => {
    const store = new MemoryBlobStore();
    const layer = new LayerBuilder(store, { chunkSize: 4 }).file('/dir/file', 'hello world', { mode: 0o640, uid: 1000, gid: 100 }).build();
    const file = inodeAt(reload(store, layer), '/dir/file');
    expect(file).toMatchObject({ kind: 'file', mode: 0o640, uid: 1000, gid: 100 });
    if (file.kind !== 'file') throw new Error('not a file');
    expect(file.content.chunks).toHaveLength(3);
    expect(Buffer.from(readContent(store, file.content)).toString()).toBe('hello world');
  });

  it('keeps directories, opaque or not', () => {
    const store = new MemoryBlobStore();
    const layer = new LayerBuilder(store).dir('/plain', { mode: 0o700 }).dir('/opaque', {}, { opaque: true }).dir('/', {}, { opaque: true }).build();
    const loaded = reload(store, layer);
    expect(inodeAt(loaded, '/plain')).toMatchObject({ kind: 'dir', mode: 0o700, opaque: false });
    expect(inodeAt(loaded, '/opaque')).toMatchObject({ kind: 'dir', opaque: true });
    expect(loaded.root.opaque).toBe(true);
  });

  it('keeps symlink targets, relative, absolute and dangling', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, {
      '/rel': { kind: 'symlink', target: '../x/y' },
      '/abs': { kind: 'symlink', target: '/etc/passwd' },
      '/unicode': { kind: 'symlink', target: 'häßlich ✓' },
    });
    const loaded = reload(store, layer);
    expect(inodeAt(loaded, '/rel')).toMatchObject({ kind: 'symlink', target: '../x/y', mode: 0o777 });
    expect(inodeAt(loaded, '/abs')).toMatchObject({ target: '/etc/passwd' });
    expect(inodeAt(loaded, '/unicode')).toMatchObject({ target: 'häßlich ✓' });
  });

  it('keeps hard links as one inode with two names', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, { '/a/first': 'shared', '/b/second': { kind: 'link', target: '/a/first' } });
    const loaded = reload(store, layer);
    const ino = loaded.lookup('/a/first')!;
    expect(loaded.lookup('/b/second')).toBe(ino);
    expect(loaded.nlink(ino)).toBe(2);
    expect(loaded.pathsOf(ino)).toEqual(['/a/first', '/b/second']);
  });

  it('keeps character and block devices with their rdev, fifos and sockets', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, {
      '/dev/null': { kind: 'chardev', rdev: (1 << 8) | 3, mode: 0o666 },
      '/dev/sda': { kind: 'blockdev', rdev: (8 << 8) | 0, mode: 0o660, gid: 6 },
      '/run/fifo': { kind: 'fifo', mode: 0o600 },
      '/run/socket': { kind: 'socket' },
    });
    const loaded = reload(store, layer);
    expect(inodeAt(loaded, '/dev/null')).toMatchObject({ kind: 'chardev', rdev: 259, mode: 0o666 });
    expect(inodeAt(loaded, '/dev/sda')).toMatchObject({ kind: 'blockdev', rdev: 2048, gid: 6 });
    expect(inodeAt(loaded, '/run/fifo')).toMatchObject({ kind: 'fifo', mode: 0o600 });
    expect(inodeAt(loaded, '/run/socket')).toMatchObject({ kind: 'socket' });
  });

  it('keeps whiteouts as names without an inode', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, { '/etc/gone': { kind: 'whiteout' }, '/etc/kept': 'x' });
    const loaded = reload(store, layer);
    expect(loaded.lookup('/etc/gone')).toBe(WHITEOUT);
    expect([...loaded.walk()].map(([path]) => path)).toEqual(['/etc', '/etc/gone', '/etc/kept']);
  });

  it('keeps extended attributes, binary values included', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, {
      '/f': { kind: 'file', data: 'x', xattrs: { 'user.b': 'two', 'user.a': Uint8Array.of(0, 255, 1), 'security.capability': new Uint8Array(0) } },
    });
    const xattrs = inodeAt(reload(store, layer), '/f').xattrs;
    expect([...xattrs.keys()].sort()).toEqual(['security.capability', 'user.a', 'user.b']);
    expect(xattrs.get('user.a')).toEqual(Uint8Array.of(0, 255, 1));
    expect(Buffer.from(xattrs.get('user.b')!).toString()).toBe('two');
  });

  it('keeps nanosecond times, before 1970 and far in the future too', () => {
    const store = new MemoryBlobStore();
    const times = { atime: 1_700_000_000_123_456_789n, mtime: -1n, ctime: -86_400_000_000_001n };
    const extremes = { atime: 2n ** 63n - 1n, mtime: -(2n ** 63n), ctime: 0n };
    const layer = new LayerBuilder(store).file('/t', '', times).dir('/x', extremes).build();
    const loaded = reload(store, layer);
    expect(inodeAt(loaded, '/t')).toMatchObject(times);
    expect(inodeAt(loaded, '/x')).toMatchObject(extremes);
  });

  it('keeps setuid, setgid and sticky bits', () => {
    const store = new MemoryBlobStore();
    const layer = new LayerBuilder(store).file('/su', '', { mode: 0o4755 }).file('/sg', '', { mode: 0o2711 }).dir('/tmp', { mode: 0o1777 }).file('/none', '', { mode: 0 }).build();
    const loaded = reload(store, layer);
    expect(inodeAt(loaded, '/su').mode).toBe(0o4755);
    expect(inodeAt(loaded, '/sg').mode).toBe(0o2711);
    expect(inodeAt(loaded, '/tmp').mode).toBe(0o1777);
    expect(inodeAt(loaded, '/none').mode).toBe(0);
  });

  it('keeps sparse content small: a run of holes is one entry', () => {
    const store = new MemoryBlobStore();
    const size = 5 * 2 ** 30;
    const tail = store.put(text('the end'));
    const chunks: (Digest | null)[] = new Array<Digest | null>(81919).fill(null);
    chunks.push(tail);
    const layer = new LayerBuilder(store).file('/sparse', { size, chunkSize: 65536, chunks }).build();
    expect(store.size(layer.id)).toBeLessThan(100);
    expect(inodeAt(reload(store, layer), '/sparse')).toMatchObject({ content: { size, chunks } });
  });

  it('writes missing trailing chunks as holes', () => {
    const store = new MemoryBlobStore();
    const head = putContent(store, text('abcd'), 4);
    // A file grown by truncate may list fewer chunks than its size needs; the rest reads as zeros.
    const layer = new LayerBuilder(store).file('/grown', { size: 12, chunkSize: 4, chunks: head.chunks }).build();
    const loaded = inodeAt(Layer.load(store, layer.id), '/grown');
    expect(loaded).toMatchObject({ content: { size: 12, chunks: [head.chunks[0], null, null] } });
  });

  it('decodes what encodes, for the encoding alone', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, { '/a': 'x', '/b/c': { kind: 'symlink', target: 'a' }, '/d': { kind: 'whiteout' } });
    const bytes = store.get(layer.id);
    expect(encodeLayer(decodeLayer(bytes))).toEqual(bytes);
  });
});

describe('the documented format', () => {
  it('matches the encoder byte for byte', () => {
    const store = new MemoryBlobStore();
    const layer = new LayerBuilder(store).file('/a', 'hi', { mode: 0o600, uid: 7, atime: -1n }).build();
    const hash = xxh64(text('hi'));
    const expected = craftLayer([
      dir([['a', 2]]),
      {
        kind: KIND.file,
        meta: { mode: 0o600, uid: 7, times: [-1n, 0n, 0n] },
        body: (out: ByteWriter) => {
          out.uint(2);
          out.uint(65536);
          out.byte(1);
          out.u64(hash);
          out.uint(0);
        },
      },
    ]);
    expect(store.get(layer.id)).toEqual(expected);
  });
});

describe('encoding refuses what decoding would reject', () => {
  const meta = { mode: 0o644, uid: 0, gid: 0, atime: 0n, mtime: 0n, ctime: 0n, xattrs: new Map<string, Uint8Array>() };
  const rootWith = (name: string): Inode => ({ ...meta, mode: 0o755, kind: 'dir', opaque: false, children: new Map([[name, 2]]) });

  it('a mode with file type bits', () => {
    expect(() => encodeLayer([undefined, rootWith('f'), { ...meta, mode: 0o100644, kind: 'fifo' }])).toThrow(/mode/);
  });

  it('names that cannot be directory entries', () => {
    for (const name of ['..', '.', 'a/b', 'nul\0', 'x'.repeat(256), '']) {
      expect(() => encodeLayer([undefined, rootWith(name), { ...meta, kind: 'fifo' }])).toThrow(Error);
    }
  });

  it('more chunks than the size has room for', () => {
    const store = new MemoryBlobStore();
    const chunks = putContent(store, text('abcdefgh'), 4).chunks;
    const file: Inode = { ...meta, kind: 'file', content: { size: 4, chunkSize: 4, chunks } };
    expect(() => encodeLayer([undefined, rootWith('f'), file])).toThrow(/chunks/);
  });
});
