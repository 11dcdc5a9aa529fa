import { describe, expect, test } from 'vitest';
import { ROOT_INO } from '../../src/union/image.js';
import { unionNodeOps } from '../../src/fuse/index.js';
import { fixtureFromSync } from '../../src/testing.js';

const fixture = fixtureFromSync({
  '/etc/hosts': '127.0.0.1 localhost\n',
  '/shared': { kind: 'dir', mode: 0o2775, gid: 50 },
});
const user = { uid: 1000, gid: 1000, pid: process.pid };

function setup() {
  const container = fixture.container();
  return { container, ops: unionNodeOps(container) };
}

describe('the kernel inode operations over a container', () => {
  test('new inodes belong to the caller; in a setgid directory to its group, and directories stay setgid', () => {
    const { ops } = setup();
    expect(ops.create(ROOT_INO, 'mine', 0o644, user)).toMatchObject({ uid: 1000, gid: 1000 });
    const shared = ops.lookup(ROOT_INO, 'shared')!;
    expect(ops.create(shared.ino, 'file', 0o644, user)).toMatchObject({ uid: 1000, gid: 50 });
    const dir = ops.mkdir(shared.ino, 'sub', 0o755, user);
    expect(dir).toMatchObject({ uid: 1000, gid: 50 });
    expect(dir.mode & 0o2000).toBe(0o2000);
    expect(ops.create(ROOT_INO, 'root-owned', 0o644, { uid: 0, gid: 0, pid: process.pid })).toMatchObject({ uid: 0, gid: 0 });
  });

  test('a file the kernel still holds outlives its last name; forgetting it lets it go', () => {
    const { container, ops } = setup();
    const file = ops.create(ROOT_INO, 'tmp', 0o644, user);
    ops.retain(file.ino);
    ops.write(file.ino, 0, Buffer.from('kept'), undefined);
    ops.unlink(ROOT_INO, 'tmp');
    expect(ops.lookup(ROOT_INO, 'tmp')).toBeUndefined();
    const out = Buffer.alloc(4);
    expect(ops.read(file.ino, 0, 4, out, 0)).toBe(4);
    expect(out.toString()).toBe('kept');
    expect(ops.getattr(file.ino).nlink).toBe(0);
    ops.forget(file.ino);
    expect(() => container.stat(file.ino)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  test('names change by directory inode, also after the directory was renamed', () => {
    const { container, ops } = setup();
    const a = ops.mkdir(ROOT_INO, 'a', 0o755, user);
    const b = ops.mkdir(a.ino, 'b', 0o755, user);
    ops.rename(ROOT_INO, 'a', ROOT_INO, 'moved', 0);
    ops.symlink(b.ino, 'link', '../x', user);
    expect(container.readlink(container.resolve('/moved/b/link', { follow: false }))).toBe('../x');
  });

  test('a directory renamed behind the kernel\u2019s back is still that directory; a removed one takes no names', () => {
    const { container, ops } = setup();
    const a = ops.mkdir(ROOT_INO, 'a', 0o755, user);
    container.rename('/a', '/elsewhere');
    container.mkdir('/a');
    ops.create(a.ino, 'x', 0o644, user);
    expect(container.readdir(container.resolve('/elsewhere')).map((entry) => entry.name)).toEqual(['x']);
    expect(container.readdir(container.resolve('/a'))).toEqual([]);
    ops.unlink(a.ino, 'x');
    container.rmdir('/elsewhere');
    expect(() => ops.create(a.ino, 'y', 0o644, user)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  test('rename2: NOREPLACE refuses an existing target, EXCHANGE is not supported', () => {
    const { ops } = setup();
    ops.create(ROOT_INO, 'x', 0o644, user);
    expect(() => ops.rename(ROOT_INO, 'x', ROOT_INO, 'etc', 1)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => ops.rename(ROOT_INO, 'x', ROOT_INO, 'etc', 2)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  test('a listing has . and .., every entry with its attributes, and is rebuilt after a change', () => {
    const { ops } = setup();
    const before = ops.entries(ROOT_INO);
    expect(before.entries.map((e) => e.name).sort()).toEqual(['.', '..', 'etc', 'shared']);
    expect(before.entries.find((e) => e.name === 'etc')?.attr?.mode).toBe(0o40755);
    expect(ops.entries(ROOT_INO)).toBe(before);
    ops.mkdir(ROOT_INO, 'new', 0o755, user);
    expect(ops.entries(ROOT_INO).entries.map((e) => e.name)).toContain('new');
  });

  test('POSIX ACLs are refused so programs fall back to chmod', () => {
    const { ops } = setup();
    expect(() => ops.setxattr(ROOT_INO, 'system.posix_acl_access', new Uint8Array(4), 0)).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
  });
});
