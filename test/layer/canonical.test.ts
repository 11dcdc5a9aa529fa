import { describe, expect, it } from 'vitest';
import { type Layer, LayerBuilder, layerFromSpec } from '../../src/layer/index.js';
import { MemoryBlobStore } from '../../src/store/index.js';
import { seededBytes } from '../helpers/bytes.js';

describe('layer id', () => {
  it('is the same for the same tree built in two different orders', () => {
    const store = new MemoryBlobStore();
    const big = seededBytes(200_000, 1);
    const forward = new LayerBuilder(store)
      .dir('/etc', { mode: 0o755, mtime: 5n })
      .file('/etc/passwd', 'root:x:0:0', { mode: 0o644, xattrs: new Map([['user.a', Uint8Array.of(1)], ['user.b', Uint8Array.of(2)]]) })
      .file('/usr/lib/big', big)
      .symlink('/usr/lib/big.link', 'big')
      .link('/usr/lib/big.hard', '/usr/lib/big')
      .whiteout('/var/gone')
      .device('/dev/null', 'chardev', 259)
      .special('/run/fifo', 'fifo')
      .dir('/opaque', {}, { opaque: true })
      .build();
    const backward = new LayerBuilder(store)
      .dir('/opaque', {}, { opaque: true })
      .special('/run/fifo', 'fifo')
      .device('/dev/null', 'chardev', 259)
      .whiteout('/var/gone')
      .file('/usr/lib/big', big)
      .link('/usr/lib/big.hard', '/usr/lib/big')
      .symlink('/usr/lib/big.link', 'big')
      .file('/etc/passwd', 'root:x:0:0', { mode: 0o644, xattrs: new Map([['user.b', Uint8Array.of(2)], ['user.a', Uint8Array.of(1)]]) })
      .dir('/etc', { mode: 0o755, mtime: 5n })
      .build();
    expect(backward.id).toBe(forward.id);
    expect(store.get(backward.id)).toEqual(store.get(forward.id));
  });

  it('does not depend on which name of a hard link came first', () => {
    const store = new MemoryBlobStore();
    const a = new LayerBuilder(store).file('/z', 'data').link('/a', '/z').build();
    const b = new LayerBuilder(store).file('/a', 'data').link('/z', '/a').build();
    expect(a.id).toBe(b.id);
  });

  it('is the digest of the stored encoding', () => {
    const store = new MemoryBlobStore();
    const layer = layerFromSpec(store, { '/a': 'x' });
    expect(store.verify(layer.id)).toBe(true);
    expect(layer.id).toMatch(/^xxh64:[0-9a-f]{16}$/);
  });

  it('differs whenever the tree differs', () => {
    const store = new MemoryBlobStore();
    const base = { '/dir/file': { kind: 'file', data: 'content', mode: 0o644 }, '/dir/other': 'content' } as const;
    const variants: Record<string, Layer> = {
      base: layerFromSpec(store, base),
      content: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'Content', mode: 0o644 } }),
      mode: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o645 } }),
      uid: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o644, uid: 1 } }),
      gid: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o644, gid: 1 } }),
      mtime: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o644, mtime: 1n } }),
      atime: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o644, atime: -1n } }),
      xattr: layerFromSpec(store, { ...base, '/dir/file': { kind: 'file', data: 'content', mode: 0o644, xattrs: { 'user.x': '' } } }),
      name: layerFromSpec(store, { '/dir/File': { kind: 'file', data: 'content', mode: 0o644 }, '/dir/other': 'content' }),
      hardLink: layerFromSpec(store, { '/dir/file': { kind: 'file', data: 'content', mode: 0o644 }, '/dir/other': { kind: 'link', target: '/dir/file' } }),
      whiteout: layerFromSpec(store, { ...base, '/dir/gone': { kind: 'whiteout' } }),
      opaque: layerFromSpec(store, { ...base, '/dir': { kind: 'dir', opaque: true } }),
      symlink: layerFromSpec(store, { ...base, '/dir/other': { kind: 'symlink', target: 'content' } }),
      fifo: layerFromSpec(store, { ...base, '/dir/other': { kind: 'fifo' } }),
      socket: layerFromSpec(store, { ...base, '/dir/other': { kind: 'socket' } }),
      chardev: layerFromSpec(store, { ...base, '/dir/other': { kind: 'chardev', rdev: 1 } }),
      chardev2: layerFromSpec(store, { ...base, '/dir/other': { kind: 'chardev', rdev: 2 } }),
      blockdev: layerFromSpec(store, { ...base, '/dir/other': { kind: 'blockdev', rdev: 1 } }),
      chunkSize: layerFromSpec(store, base, { chunkSize: 4 }),
    };
    const ids = Object.values(variants).map((layer) => layer.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is stable when built twice', () => {
    const store = new MemoryBlobStore();
    const builder = new LayerBuilder(store).file('/a', 'x');
    expect(builder.build().id).toBe(builder.build().id);
  });
});
