import { describe, expect, it } from 'vitest';
import { ErrnoError } from '../../src/errno.js';
import { LayerBuilder, WHITEOUT, splitLayerPath } from '../../src/layer/index.js';
import { MemoryBlobStore } from '../../src/store/index.js';

const builder = () => new LayerBuilder(new MemoryBlobStore());

function errnoOf(run: () => unknown): ErrnoError {
  try {
    run();
  } catch (error) {
    if (error instanceof ErrnoError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('LayerBuilder', () => {
  it('rejects paths with ".." in every kind of entry', () => {
    const cases = [
      (b: LayerBuilder) => b.file('/a/../b', 'x'),
      (b: LayerBuilder) => b.dir('../etc'),
      (b: LayerBuilder) => b.symlink('/x/..', 'y'),
      (b: LayerBuilder) => b.whiteout('/..'),
      (b: LayerBuilder) => b.special('a/../../b', 'fifo'),
      (b: LayerBuilder) => b.file('/a', 'x').link('/b/../c', '/a'),
    ];
    for (const run of cases) {
      const error = errnoOf(() => run(builder()));
      expect(error.code).toBe('EINVAL');
      expect(error.message).toMatch(/^EINVAL: invalid argument/);
    }
  });

  it('rejects names over 255 bytes with ENAMETOOLONG, and takes 255', () => {
    expect(errnoOf(() => builder().file(`/${'x'.repeat(256)}`, '')).code).toBe('ENAMETOOLONG');
    expect(errnoOf(() => builder().dir(`/d/${'é'.repeat(128)}/f`)).code).toBe('ENAMETOOLONG');
    expect(builder().file(`/${'x'.repeat(255)}`, '').build().size).toBe(2);
  });

  it('rejects NUL in a name with EINVAL', () => {
    expect(errnoOf(() => builder().file('/a\0b', '')).code).toBe('EINVAL');
  });

  it('reads "." and empty components as nothing', () => {
    expect(splitLayerPath('/a/./b//c/')).toEqual(['a', 'b', 'c']);
    expect(splitLayerPath('/')).toEqual([]);
  });

  it('creates missing parents as plain directories', () => {
    const layer = builder().file('/a/b/c', 'x').build();
    expect(layer.inode(layer.lookup('/a/b')!)).toMatchObject({ kind: 'dir', mode: 0o755, opaque: false });
  });

  it('lets a later entry replace an earlier one, and a directory keep its children', () => {
    const layer = builder().file('/f', 'one').file('/f', 'two', { mode: 0o600 }).file('/d/child', 'x').dir('/d', { mode: 0o700 }).build();
    expect(layer.inode(layer.lookup('/f')!)).toMatchObject({ kind: 'file', mode: 0o600, content: { size: 3 } });
    expect(layer.inode(layer.lookup('/d')!)).toMatchObject({ kind: 'dir', mode: 0o700 });
    expect(layer.lookup('/d/child')).toBeGreaterThan(0);
  });

  it('refuses a hard link to a missing entry with ENOENT and leaves the tree as it was', () => {
    const b = builder().file('/file', 'x');
    expect(errnoOf(() => b.link('/new', '/no/such/thing')).code).toBe('ENOENT');
    expect(errnoOf(() => b.link('/new', '/file/below')).code).toBe('ENOENT');
    const layer = b.build();
    expect([...layer.walk()].map(([path]) => path)).toEqual(['/file']);
    expect(layer.inode(layer.lookup('/file')!).kind).toBe('file');
  });

  it('refuses a hard link to a directory with EPERM', () => {
    expect(errnoOf(() => builder().dir('/d').link('/e', '/d')).code).toBe('EPERM');
    expect(errnoOf(() => builder().link('/e', '/')).code).toBe('EPERM');
  });

  it('refuses a hard link to a whiteout with ENOENT', () => {
    expect(errnoOf(() => builder().whiteout('/w').link('/e', '/w')).code).toBe('ENOENT');
  });

  it('has no parent for the root', () => {
    expect(errnoOf(() => builder().file('/', 'x')).code).toBe('EINVAL');
  });

  it('numbers the root 1 and the rest depth first by name', () => {
    const layer = builder().file('/b', '').file('/a/z', '').file('/a/y', '').whiteout('/c').build();
    expect([...layer.walk()]).toEqual([['/a', 2], ['/a/y', 3], ['/a/z', 4], ['/b', 5], ['/c', WHITEOUT]]);
  });
});
