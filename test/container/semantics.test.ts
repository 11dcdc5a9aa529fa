import { describe, expect, it } from 'vitest';
import { Container, ErrnoError, Image, MemoryBlobStore, LayerBuilder, layerFromSpec } from '../../src/index.js';
import { imageOf, names, text, tree, writeText } from './helpers.js';

function code(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof ErrnoError) return error.code;
    throw error;
  }
  return undefined;
}

const base = {
  '/etc/passwd': 'root:x:0:0',
  '/etc/hosts': '127.0.0.1 localhost',
  '/usr/bin/sh': 'ELF sh',
  '/usr/lib/libc.so': 'ELF libc',
  '/var/log/old.log': 'old',
  '/data/big': 'x',
};

describe('lookup through layers', () => {
  it('finds the topmost version of a file', () => {
    const { container } = imageOf(base, { '/etc/hosts': 'patched' });
    expect(text(container(), '/etc/hosts')).toBe('patched');
  });

  it('hides a lower name behind a whiteout', () => {
    const { container } = imageOf(base, { '/etc/passwd': { kind: 'whiteout' } });
    const c = container();
    expect(code(() => c.resolve('/etc/passwd'))).toBe('ENOENT');
    expect(names(c, '/etc')).toEqual(['hosts']);
  });

  it('an opaque directory hides everything below it', () => {
    const { container } = imageOf(base, { '/etc': { kind: 'dir', opaque: true }, '/etc/motd': 'hi' });
    expect(names(container(), '/etc')).toEqual(['motd']);
  });

  it('a non-directory hides the lower directory of the same name', () => {
    const { container } = imageOf(base, { '/usr': 'now a file' });
    const c = container();
    expect(text(c, '/usr')).toBe('now a file');
    expect(code(() => c.resolve('/usr/bin/sh'))).toBe('ENOTDIR');
  });

  it('a directory over a lower file does not merge with it', () => {
    const { container } = imageOf({ '/x': 'file' }, { '/x/inner': 'in dir' });
    expect(names(container(), '/x')).toEqual(['inner']);
  });

  it('merges directories of all layers in name order', () => {
    const { container } = imageOf({ '/d/b': '1', '/d/d': '1' }, { '/d/a': '2', '/d/c': '2' }, { '/d/e': '3' });
    expect(names(container(), '/d')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a merged directory over 128 layers lists each name once', () => {
    const specs = Array.from({ length: 128 }, (_, i) => ({ [`/d/f${i % 10}`]: `layer ${i}` }));
    const { container } = imageOf(...specs);
    const c = container();
    expect(names(c, '/d')).toHaveLength(10);
    expect(text(c, '/d/f7')).toBe('layer 127');
  });
});

describe('copy-up', () => {
  it('chmod of a lower file changes metadata only and leaves the image untouched', () => {
    const { container, store } = imageOf(base);
    const c = container();
    const before = store.stats().blobs;
    c.chmod(c.resolve('/etc/passwd'), 0o600);
    expect(c.stat(c.resolve('/etc/passwd')).mode & 0o7777).toBe(0o600);
    expect(store.stats().blobs).toBe(before);
    expect(container().stat(container().resolve('/etc/passwd')).mode & 0o7777).toBe(0o644);
  });

  it('keeps the inode number through copy-up', () => {
    const { container } = imageOf(base);
    const c = container();
    const ino = c.resolve('/etc/hosts');
    writeText(c, '/etc/hosts', 'changed');
    c.chmod(ino, 0o600);
    expect(c.resolve('/etc/hosts')).toBe(ino);
    expect(c.stat(ino).ino).toBe(ino);
  });

  it('a 4 KiB write into a large lower file stores 4 KiB, not the chunk and never the file', () => {
    const store = new MemoryBlobStore();
    const big = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff || 1;
    const image = new Image([new LayerBuilder(store).file('/big', big).build()]);
    const c = new Container(image, store);
    const stored = store.stats().storedBytes;
    c.write(c.resolve('/big'), 3 * 1024 * 1024 + 100, new Uint8Array(4096).fill(7));
    c.flush();
    const added = store.stats().storedBytes - stored;
    expect(added).toBeGreaterThanOrEqual(4096);
    expect(added).toBeLessThanOrEqual(4096 + 64);
    const back = c.readAll(c.resolve('/big'));
    expect(back.subarray(3 * 1024 * 1024 + 100, 3 * 1024 * 1024 + 4196).every((b) => b === 7)).toBe(true);
    expect(back[0]).toBe(big[0]);
    expect(Buffer.compare(back.subarray(0, 3 * 1024 * 1024), big.subarray(0, 3 * 1024 * 1024))).toBe(0);
  });

  it('many small writes into one chunk store one blob when flushed', () => {
    const { container, store } = imageOf({});
    const c = container();
    const ino = c.createFile('/log');
    const before = store.stats().blobs;
    for (let i = 0; i < 100; i++) c.write(ino, i * 10, Buffer.from('0123456789'));
    c.close(ino);
    c.flush();
    expect(store.stats().blobs - before).toBe(1);
    expect(text(c, '/log')).toBe('0123456789'.repeat(100));
  });

  it('truncate then extend reads zeros, not the old bytes', () => {
    const { container } = imageOf({ '/f': 'abcdefghij' });
    const c = container();
    const ino = c.resolve('/f');
    c.truncate(ino, 3);
    c.truncate(ino, 6);
    expect(Buffer.from(c.readAll(ino))).toEqual(Buffer.from('abc\0\0\0'));
  });
});

describe('deleting', () => {
  it('unlink of a lower file leaves a whiteout; the image keeps it', () => {
    const { container } = imageOf(base);
    const c = container();
    c.unlink('/etc/passwd');
    expect(c.exists('/etc/passwd')).toBe(false);
    expect(container().exists('/etc/passwd')).toBe(true);
    expect(c.diff()).toContainEqual({ kind: 'deleted', path: '/etc/passwd' });
  });

  it('rmdir of a merged directory is ENOTEMPTY until it is empty in the merged view', () => {
    const { container } = imageOf(base, { '/var/log/new.log': 'new' });
    const c = container();
    expect(code(() => c.rmdir('/var/log'))).toBe('ENOTEMPTY');
    c.unlink('/var/log/old.log');
    expect(code(() => c.rmdir('/var/log'))).toBe('ENOTEMPTY');
    c.unlink('/var/log/new.log');
    c.rmdir('/var/log');
    expect(names(c, '/var')).toEqual([]);
  });

  it('a directory recreated after deletion is opaque', () => {
    const { container } = imageOf(base);
    const c = container();
    c.unlink('/var/log/old.log');
    c.rmdir('/var/log');
    c.mkdir('/var/log');
    expect(names(c, '/var/log')).toEqual([]);
    const { image, layer } = c.commit();
    const child = new Container(image, c.store);
    expect(names(child, '/var/log')).toEqual([]);
    expect(layer.inode(layer.lookup('/var/log')!)).toMatchObject({ kind: 'dir', opaque: true });
  });

  it('unlink of a directory is EISDIR, rmdir of a file ENOTDIR, of a missing name ENOENT', () => {
    const { container } = imageOf(base);
    const c = container();
    expect(code(() => c.unlink('/etc'))).toBe('EISDIR');
    expect(code(() => c.rmdir('/etc/hosts'))).toBe('ENOTDIR');
    expect(code(() => c.rmdir('/nope'))).toBe('ENOENT');
  });
});

describe('rename', () => {
  it('moves a lower directory with a deep subtree without copying data', () => {
    const { container, store } = imageOf(base, { '/usr/lib/deep/er/still': 'deep' });
    const c = container();
    const blobs = store.stats().blobs;
    c.rename('/usr', '/opt');
    expect(text(c, '/opt/lib/deep/er/still')).toBe('deep');
    expect(text(c, '/opt/bin/sh')).toBe('ELF sh');
    expect(c.exists('/usr')).toBe(false);
    expect(store.stats().blobs).toBe(blobs);
    expect(c.upperSize).toBeLessThanOrEqual(2);
  });

  it('replaces an existing file atomically and refuses a directory over a file', () => {
    const { container } = imageOf(base);
    const c = container();
    c.rename('/etc/hosts', '/etc/passwd');
    expect(text(c, '/etc/passwd')).toBe('127.0.0.1 localhost');
    expect(names(c, '/etc')).toEqual(['passwd']);
    expect(code(() => c.rename('/usr', '/etc/passwd'))).toBe('ENOTDIR');
    expect(code(() => c.rename('/etc/passwd', '/usr'))).toBe('EISDIR');
  });

  it('over a non-empty directory is ENOTEMPTY, into itself EINVAL', () => {
    const { container } = imageOf(base);
    const c = container();
    expect(code(() => c.rename('/usr', '/etc'))).toBe('ENOTEMPTY');
    expect(code(() => c.rename('/usr', '/usr/lib/x'))).toBe('EINVAL');
    c.mkdir('/empty');
    c.rename('/usr', '/empty');
    expect(names(c, '/empty')).toEqual(['bin', 'lib']);
  });

  it('a renamed directory survives commit as the same tree', () => {
    const { container } = imageOf(base, { '/usr/share/doc': 'doc' });
    const c = container();
    c.rename('/usr', '/opt');
    c.mkdir('/usr');
    writeText(c, '/usr/new', 'n');
    const { image } = c.commit();
    expect(tree(new Container(image, c.store))).toEqual(tree(c));
  });
});

describe('hard links', () => {
  it('a link to a lower file shares the inode, and a copy-up through either name shows in both', () => {
    const { container } = imageOf(base);
    const c = container();
    c.link('/etc/hosts', '/etc/hosts2');
    const ino = c.resolve('/etc/hosts');
    expect(c.resolve('/etc/hosts2')).toBe(ino);
    expect(c.stat(ino).nlink).toBe(2);
    writeText(c, '/etc/hosts2', 'changed via link');
    expect(text(c, '/etc/hosts')).toBe('changed via link');
    c.unlink('/etc/hosts');
    expect(c.stat(c.resolve('/etc/hosts2')).nlink).toBe(1);
  });

  it('lower hard links stay one inode after copy-up and after commit', () => {
    const { container } = imageOf({ '/a': 'shared', '/b': { kind: 'link', target: '/a' }, '/c/d': 'other' });
    const c = container();
    expect(c.resolve('/a')).toBe(c.resolve('/b'));
    expect(c.stat(c.resolve('/a')).nlink).toBe(2);
    writeText(c, '/b', 'SHARED');
    expect(text(c, '/a')).toBe('SHARED');
    const { image } = c.commit();
    const next = new Container(image, c.store);
    expect(next.resolve('/a')).toBe(next.resolve('/b'));
    expect(text(next, '/a')).toBe('SHARED');
  });

  it('refuses a hard link to a directory', () => {
    const { container } = imageOf(base);
    expect(code(() => container().link('/etc', '/etc2'))).toBe('EPERM');
  });
});

describe('symlinks', () => {
  it('absolute targets and .. resolve inside the container root', () => {
    const { container } = imageOf(base, {
      '/escape': { kind: 'symlink', target: '/../../../etc/passwd' },
      '/usr/bin/up': { kind: 'symlink', target: '../../../../etc/hosts' },
    });
    const c = container();
    expect(text(c, '/escape')).toBe('root:x:0:0');
    expect(text(c, '/usr/bin/up')).toBe('127.0.0.1 localhost');
  });

  it('loops give ELOOP', () => {
    const { container } = imageOf({ '/a': { kind: 'symlink', target: '/b' }, '/b': { kind: 'symlink', target: '/a' } });
    expect(code(() => container().resolve('/a'))).toBe('ELOOP');
  });

  it('a symlink in the middle of a path is followed, the last one only when asked', () => {
    const { container } = imageOf(base, { '/lib': { kind: 'symlink', target: 'usr/lib' } });
    const c = container();
    expect(text(c, '/lib/libc.so')).toBe('ELF libc');
    expect(c.kindOf(c.resolve('/lib', { follow: false }))).toBe('symlink');
    expect(c.kindOf(c.resolve('/lib'))).toBe('dir');
  });
});

describe('open files', () => {
  it('stay readable and writable after unlink', () => {
    const { container } = imageOf(base);
    const c = container();
    const ino = c.resolve('/etc/hosts');
    c.open(ino);
    c.unlink('/etc/hosts');
    expect(Buffer.from(c.readAll(ino)).toString()).toBe('127.0.0.1 localhost');
    c.write(ino, 0, Buffer.from('X'));
    expect(Buffer.from(c.readAll(ino)).toString()).toBe('X27.0.0.1 localhost');
    c.close(ino);
    expect(c.exists('/etc/hosts')).toBe(false);
  });

  it('an inode opened before a copy-up sees the new data', () => {
    const { container } = imageOf(base);
    const c = container();
    const ino = c.resolve('/etc/passwd');
    c.open(ino);
    c.write(c.resolve('/etc/passwd'), 0, Buffer.from('ROOT'));
    expect(Buffer.from(c.readAll(ino)).toString()).toBe('ROOT:x:0:0');
    c.close(ino);
  });
});

describe('errors', () => {
  it('speak POSIX', () => {
    const { container } = imageOf(base);
    const c = container();
    expect(code(() => c.mkdir('/etc'))).toBe('EEXIST');
    expect(code(() => c.resolve('/etc/hosts/x'))).toBe('ENOTDIR');
    expect(code(() => c.resolve('/etc/hosts/'))).toBe('ENOTDIR');
    expect(code(() => c.createFile(`/${'n'.repeat(256)}`))).toBe('ENAMETOOLONG');
    expect(code(() => c.mkdir('/missing/child'))).toBe('ENOENT');
    expect(code(() => c.write(c.resolve('/etc'), 0, Buffer.from('x')))).toBe('EISDIR');
  });

  it('a read-only view of an image answers EROFS to writes', () => {
    const { image, store } = imageOf(base);
    const view = Container.view(image, store);
    expect(code(() => view.mkdir('/x'))).toBe('EROFS');
    expect(code(() => view.unlink('/etc/hosts'))).toBe('EROFS');
    expect(code(() => view.chmod(view.resolve('/etc'), 0o700))).toBe('EROFS');
  });
});

describe('commit, diff and fork', () => {
  it('a container of the committed image shows exactly the same tree', () => {
    const { container } = imageOf(base, { '/etc/extra': 'x' });
    const c = container();
    writeText(c, '/etc/hosts', 'new hosts');
    c.chmod(c.resolve('/etc/passwd'), 0o600);
    c.unlink('/var/log/old.log');
    c.mkdir('/srv', 0o750);
    c.symlink('/etc/hosts', '/srv/hosts');
    c.link('/usr/bin/sh', '/usr/bin/bash');
    c.rename('/usr/lib', '/lib');
    const { image } = c.commit();
    const next = new Container(image, c.store);
    expect(tree(next)).toEqual(tree(c));
    expect(next.resolve('/usr/bin/sh')).toBe(next.resolve('/usr/bin/bash'));
    expect(next.diff()).toEqual([]);
  });

  it('diff lists added, changed and deleted paths', () => {
    const { container } = imageOf(base);
    const c = container();
    writeText(c, '/etc/hosts', 'x');
    c.unlink('/etc/passwd');
    writeText(c, '/new', 'n');
    const diff = c.diff().map((change) => `${change.kind[0]!.toUpperCase()} ${change.path}`);
    expect(diff).toEqual(['C /etc', 'C /etc/hosts', 'D /etc/passwd', 'A /new']);
  });

  it('a fork sees the tree at fork time; later changes on either side stay private', () => {
    const { container } = imageOf(base);
    const c = container();
    writeText(c, '/a', 'before');
    const f = c.fork();
    writeText(c, '/a', 'AFTER');
    writeText(f, '/b', 'fork only');
    expect(text(f, '/a')).toBe('before');
    expect(text(c, '/a')).toBe('AFTER');
    expect(c.exists('/b')).toBe(false);
    f.unlink('/etc/hosts');
    expect(c.exists('/etc/hosts')).toBe(true);
  });

  it('a chain of forks stays correct past the flattening depth', () => {
    const { container } = imageOf(base);
    let c = container();
    const all: Container[] = [];
    for (let i = 0; i < 20; i++) {
      writeText(c, `/f${i}`, `${i}`);
      all.push(c);
      c = c.fork();
    }
    expect(names(c, '/').filter((name) => name.startsWith('f'))).toHaveLength(20);
    expect(all[5]!.exists('/f6')).toBe(false);
    expect(text(all[5]!, '/f5')).toBe('5');
  });

  it('an image of no layers gives an empty writable root', () => {
    const store = new MemoryBlobStore();
    const c = new Container(new Image([]), store);
    c.mkdir('/x');
    expect(names(c, '/')).toEqual(['x']);
    const { image } = c.commit();
    expect(names(new Container(image, store), '/')).toEqual(['x']);
  });

  it('the same layer spec gives the same layer id whatever the store', () => {
    const a = layerFromSpec(new MemoryBlobStore(), base);
    const b = layerFromSpec(new MemoryBlobStore(), Object.fromEntries(Object.entries(base).reverse()));
    expect(a.id).toBe(b.id);
  });
});
