import { describe, expect, it } from 'vitest';
import { FormatError, Layer, decodeLayer, layerFromSpec } from '../../src/layer/index.js';
import { MemoryBlobStore } from '../../src/store/index.js';
import { KIND, craftLayer, dir, emptyFile } from './craft.js';

/** A small layer with every kind of entry, so every decoding path is on the way. */
function richEncoding(): Uint8Array {
  const store = new MemoryBlobStore();
  const layer = layerFromSpec(
    store,
    {
      '/etc/conf': { kind: 'file', data: 'some data for two chunks', mode: 0o4755, uid: 1, gid: 2, mtime: -5n, xattrs: { 'user.k': 'v' } },
      '/etc/empty': '',
      '/link': { kind: 'symlink', target: 'etc/conf' },
      '/dev/null': { kind: 'chardev', rdev: 259 },
      '/dev/loop': { kind: 'blockdev', rdev: 1792 },
      '/fifo': { kind: 'fifo' },
      '/sock': { kind: 'socket' },
      '/gone': { kind: 'whiteout' },
      '/opaque': { kind: 'dir', opaque: true },
      '/hard': { kind: 'link', target: '/etc/conf' },
    },
    { chunkSize: 16 },
  );
  return store.get(layer.id);
}

function decodeError(bytes: Uint8Array): unknown {
  try {
    decodeLayer(bytes);
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectFormatError(bytes: Uint8Array, message?: RegExp): void {
  const error = decodeError(bytes);
  expect(error).toBeInstanceOf(FormatError);
  if (message) expect((error as Error).message).toMatch(message);
}

describe('decoding rejects with FormatError', () => {
  it('every truncation of a valid layer', () => {
    const bytes = richEncoding();
    expect(() => decodeLayer(bytes)).not.toThrow();
    for (let length = 0; length < bytes.length; length++) {
      const error = decodeError(bytes.subarray(0, length));
      if (!(error instanceof FormatError)) throw new Error(`prefix of ${length} bytes gave ${String(error)}`);
    }
  });

  it('trailing bytes after the last inode', () => {
    const bytes = richEncoding();
    expectFormatError(Uint8Array.of(...bytes, 0), /trailing/);
  });

  it('a wrong magic', () => {
    const bytes = richEncoding();
    expectFormatError(Uint8Array.of(...Buffer.from('LFSX'), ...bytes.subarray(4)), /magic/);
    expectFormatError(craftLayer([dir([])], { magic: 'TAR!' }), /magic/);
    expectFormatError(new Uint8Array(0), /magic/);
  });

  it('a version this build does not read', () => {
    expectFormatError(craftLayer([dir([])], { version: 2 }), /version 2/);
    expectFormatError(craftLayer([dir([])], { version: 0 }), /version 0/);
  });

  it('a name ".." (or "." or empty)', () => {
    for (const name of ['..', '.', '']) expectFormatError(craftLayer([dir([[name, 2]]), emptyFile()]), /name/);
  });

  it('a name with NUL or a slash', () => {
    expectFormatError(craftLayer([dir([['a\0b', 2]]), emptyFile()]), /NUL/);
    expectFormatError(craftLayer([dir([['a/b', 2]]), emptyFile()]), /'\/'/);
  });

  it('a name over 255 bytes, counting bytes rather than characters', () => {
    expect(() => decodeLayer(craftLayer([dir([['x'.repeat(255), 2]]), emptyFile()]))).not.toThrow();
    expectFormatError(craftLayer([dir([['x'.repeat(256), 2]]), emptyFile()]), /255/);
    expectFormatError(craftLayer([dir([['é'.repeat(128), 2]]), emptyFile()]), /255/);
  });

  it('a name that is not UTF-8', () => {
    expectFormatError(craftLayer([dir([[Uint8Array.of(0x61, 0xff), 2]]), emptyFile()]), /UTF-8/);
  });

  it('names out of canonical order or repeated', () => {
    expectFormatError(craftLayer([dir([['b', 2], ['a', 3]]), emptyFile(), emptyFile()]), /order/);
    expectFormatError(craftLayer([dir([['a', 2], ['a', 3]]), emptyFile(), emptyFile()]), /order/);
  });

  it('a directory with two parents', () => {
    expectFormatError(craftLayer([dir([['a', 2], ['b', 2]]), dir([])]), /more than one name/);
    expectFormatError(craftLayer([dir([['a', 2]]), dir([['self', 2]])]), /more than one name/);
  });

  it('but not a file with two names: that is a hard link', () => {
    const inodes = decodeLayer(craftLayer([dir([['a', 2], ['b', 2]]), emptyFile()]));
    expect(inodes).toHaveLength(3);
  });

  it('an inode no name reaches', () => {
    expectFormatError(craftLayer([dir([['a', 2]]), emptyFile(), emptyFile()]), /inode 3 is not reachable/);
    // Two directories naming each other, apart from the tree.
    expectFormatError(craftLayer([dir([]), dir([['x', 3]]), dir([['y', 2]])]), /not reachable/);
  });

  it('an entry pointing at the root or past the last inode', () => {
    expectFormatError(craftLayer([dir([['up', 1]])]), /points to inode 1/);
    expectFormatError(craftLayer([dir([['far', 9]]), emptyFile()]), /points to inode 9/);
  });

  it('a root that is not a directory, or no root at all', () => {
    expectFormatError(craftLayer([emptyFile()]), /root/);
    expectFormatError(craftLayer([]), /root/);
  });

  it('an inode count larger than the bytes could hold', () => {
    expectFormatError(craftLayer([dir([])], { count: 1_000_000 }), /count/);
  });

  it('an unknown kind, a mode with type bits, a bad opaque flag', () => {
    expectFormatError(craftLayer([dir([['a', 2]]), { kind: 7 }]), /unknown kind/);
    expectFormatError(craftLayer([dir([['a', 2]]), emptyFile({ mode: 0o100644 })]), /mode/);
    expectFormatError(craftLayer([dir([], 2)]), /opaque/);
  });

  it('xattrs out of order or repeated', () => {
    const value = Uint8Array.of(1);
    expectFormatError(craftLayer([dir([['a', 2]]), emptyFile({ xattrs: [['user.b', value], ['user.a', value]] })]), /xattrs/);
    expectFormatError(craftLayer([dir([['a', 2]]), emptyFile({ xattrs: [['user.a', value], ['user.a', value]] })]), /xattrs/);
  });

  it('bad chunk lists: unknown tag, empty or overlong hole run, chunk size 0', () => {
    const file = (write: (out: import('../../src/layer/codec.js').ByteWriter) => void) =>
      craftLayer([dir([['f', 2]]), { kind: KIND.file, body: write }]);
    expectFormatError(file((out) => { out.uint(10); out.uint(4); out.byte(2); }), /chunk tag/);
    expectFormatError(file((out) => { out.uint(10); out.uint(4); out.byte(0); out.uint(0); }), /hole run/);
    expectFormatError(file((out) => { out.uint(10); out.uint(4); out.byte(0); out.uint(4); }), /hole run/);
    expectFormatError(file((out) => { out.uint(10); out.uint(0); }), /chunk size 0/);
    expect(() => decodeLayer(file((out) => { out.uint(10); out.uint(4); out.byte(0); out.uint(3); }))).not.toThrow();
  });

  it('a symlink target with NUL', () => {
    expectFormatError(craftLayer([dir([['l', 2]]), { kind: KIND.symlink, body: (out) => out.string('a\0b') }]), /NUL/);
  });

  it('any single corrupted byte, or else decodes', () => {
    const bytes = richEncoding();
    for (let at = 0; at < bytes.length; at++) {
      for (const value of [0x00, 0x01, 0x7f, 0x80, 0xff, bytes[at]! ^ 0x01]) {
        const mutated = bytes.slice();
        mutated[at] = value;
        const error = decodeError(mutated);
        if (error !== undefined && !(error instanceof FormatError)) throw new Error(`byte ${at} = ${value} gave ${String(error)}`);
      }
    }
  });
});

describe('Layer.load', () => {
  it('rejects a blob that is not a layer with FormatError', () => {
    const store = new MemoryBlobStore();
    const id = store.put(Buffer.from('#!/bin/sh\necho not a layer\n'));
    expect(() => Layer.load(store, id)).toThrow(FormatError);
  });
});
