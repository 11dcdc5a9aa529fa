import { describe, expect, it } from 'vitest';
import { Container, createFs } from '../../src/index.js';
import { setup, thrown } from './helpers.js';

describe('a read-only fs over an image', () => {
  const readOnly = () => {
    const { image, store } = setup();
    return createFs(Container.view(image, store));
  };

  it('reads like any other', async () => {
    const fs = readOnly();
    expect(fs.readFileSync('/etc/hosts', 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(fs.readdirSync('/')).toEqual(['etc', 'home', 'link', 'usr']);
    expect(fs.realpathSync('/link')).toBe('/etc/hosts');
    expect(await fs.promises.readFile('/link', 'utf8')).toBe('127.0.0.1 localhost\n');
    const fd = fs.openSync('/etc/passwd', 'r');
    expect(fs.fstatSync(fd).size).toBe(11);
    fs.closeSync(fd);
  });

  it('answers EROFS to every change, with the syscall and path', () => {
    const fs = readOnly();
    const cases: [() => unknown, string, string][] = [
      [() => fs.writeFileSync('/etc/hosts', 'x'), 'open', '/etc/hosts'],
      [() => fs.writeFileSync('/new', 'x'), 'open', '/new'],
      [() => fs.openSync('/etc/hosts', 'r+'), 'open', '/etc/hosts'],
      [() => fs.appendFileSync('/etc/hosts', 'x'), 'open', '/etc/hosts'],
      [() => fs.mkdirSync('/d'), 'mkdir', '/d'],
      [() => fs.mkdirSync('/d/e', { recursive: true }), 'mkdir', '/d/e'],
      [() => fs.unlinkSync('/etc/hosts'), 'unlink', '/etc/hosts'],
      [() => fs.chmodSync('/etc', 0o700), 'chmod', '/etc'],
      [() => fs.chownSync('/etc', 1, 1), 'chown', '/etc'],
      [() => fs.utimesSync('/etc', 1, 1), 'utime', '/etc'],
      [() => fs.symlinkSync('x', '/l'), 'symlink', 'x'],
      [() => fs.truncateSync('/etc/hosts'), 'open', '/etc/hosts'],
      [() => fs.accessSync('/etc/hosts', fs.constants.W_OK), 'access', '/etc/hosts'],
      [() => fs.setxattrSync('/etc', 'user.a', 'b'), 'setxattr', '/etc'],
    ];
    for (const [action, syscall, path] of cases) {
      expect(thrown(action)).toMatchObject({ code: 'EROFS', errno: -30, syscall, path });
    }
    expect(thrown(() => fs.renameSync('/etc', '/etc2'))).toMatchObject({ code: 'EROFS', syscall: 'rename', path: '/etc', dest: '/etc2' });
    expect(thrown(() => fs.copyFileSync('/etc/hosts', '/h'))).toMatchObject({ code: 'EROFS', syscall: 'copyfile' });
    expect(thrown(() => fs.rmSync('/home', { recursive: true }))).toMatchObject({ code: 'EROFS', syscall: 'unlink', path: '/home/user/notes.txt' });
    expect(thrown(() => fs.writeFileSync('/new', 'x')).message).toBe("EROFS: read-only file system, open '/new'");
  });

  // Linux asks for write access to the mount (mnt_want_write) before it looks the name up, so
  // unlink, rmdir and rename on a read-only mount answer EROFS even for a missing name or a
  // non-empty directory.
  it('EROFS comes before ENOENT and ENOTEMPTY, as on Linux', () => {
    const fs = readOnly();
    expect(thrown(() => fs.rmdirSync('/home'))).toMatchObject({ code: 'EROFS', syscall: 'rmdir' });
    expect(thrown(() => fs.unlinkSync('/missing'))).toMatchObject({ code: 'EROFS', syscall: 'unlink' });
    expect(thrown(() => fs.renameSync('/missing', '/other'))).toMatchObject({ code: 'EROFS', syscall: 'rename' });
  });

  it('rejects through the promise API too, and leaves the tree as it was', async () => {
    const fs = readOnly();
    await expect(fs.promises.writeFile('/etc/hosts', 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await expect(fs.promises.rm('/etc', { recursive: true })).rejects.toMatchObject({ code: 'EROFS' });
    expect(fs.readFileSync('/etc/hosts', 'utf8')).toBe('127.0.0.1 localhost\n');
  });
});
