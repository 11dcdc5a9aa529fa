import { describe, expect } from 'vitest';
import { USER } from '../targets/as-user.js';
import { type Ctx, caught, expectErrno } from './context.js';

const mode = (fs: Ctx['fs'], path: string) => fs.statSync(path).mode & 0o7777;

/**
 * What an ordinary user may do, as Linux decides it: the tree belongs to root, `ctx.admin` (root)
 * prepares what the user meets, and `ctx.fs` acts as USER. EACCES for a permission bit that is
 * missing, EPERM for what only an owner (or root) may do.
 */
export function permissions(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();

  /** A directory owned by the user, made by root. */
  const home = () => {
    ctx.admin.mkdirSync(p('/home'));
    ctx.admin.chownSync(p('/home'), USER.uid, USER.gid);
    return p('/home');
  };

  describe('permissions of an ordinary user', () => {
    test('reading what others may read; EACCES for the rest, also on the way to a name', () => {
      const { fs, admin } = ctx;
      admin.mkdirSync(p('/secret'), 0o700);
      admin.writeFileSync(p('/secret/x'), 'hidden');
      expect(fs.readFileSync(p('/file.txt'), 'utf8')).toBe('hello world\n');
      expect(fs.readdirSync(p('/dir')).sort()).toEqual(['a.txt', 'b.txt', 'sub']);
      expectErrno(caught(() => fs.statSync(p('/secret/x'))), { code: 'EACCES', syscall: 'stat', path: p('/secret/x') });
      expectErrno(caught(() => fs.readFileSync(p('/secret/x'))), { code: 'EACCES', syscall: 'open', path: p('/secret/x') });
      expectErrno(caught(() => fs.readdirSync(p('/secret'))), { code: 'EACCES', syscall: 'scandir', path: p('/secret') });
      expect(fs.existsSync(p('/secret/x'))).toBe(false);
      expectErrno(caught(() => fs.realpathSync(p('/secret/x'))), { code: 'EACCES', syscall: 'lstat', path: p('/secret/x') });
      expect(fs.statSync(p('/secret')).isDirectory()).toBe(true);
      expectErrno(caught(() => fs.openSync(p('/file.txt'), 'r+')), { code: 'EACCES', syscall: 'open', path: p('/file.txt') });
      expectErrno(caught(() => fs.writeFileSync(p('/file.txt'), 'x')), { code: 'EACCES', syscall: 'open', path: p('/file.txt') });
      expectErrno(caught(() => fs.accessSync(p('/file.txt'), fs.constants.W_OK)), { code: 'EACCES', syscall: 'access', path: p('/file.txt') });
      fs.accessSync(p('/file.txt'), fs.constants.R_OK);
      expectErrno(caught(() => fs.truncateSync(p('/file.txt'))), { code: 'EACCES', syscall: 'open', path: p('/file.txt') });
      expect(admin.readFileSync(p('/file.txt'), 'utf8')).toBe('hello world\n');
    });

    test('names are made and removed only in directories the user may write', () => {
      const { fs } = ctx;
      const mine = home();
      fs.writeFileSync(`${mine}/f`, 'mine');
      expect([fs.statSync(`${mine}/f`).uid, fs.statSync(`${mine}/f`).gid]).toEqual([USER.uid, USER.gid]);
      fs.mkdirSync(`${mine}/d`);
      fs.renameSync(`${mine}/f`, `${mine}/d/g`);
      fs.symlinkSync('g', `${mine}/d/link`);
      fs.unlinkSync(`${mine}/d/link`);
      fs.unlinkSync(`${mine}/d/g`);
      fs.rmdirSync(`${mine}/d`);
      expectErrno(caught(() => fs.writeFileSync(p('/dir/new'), 'x')), { code: 'EACCES', syscall: 'open', path: p('/dir/new') });
      expectErrno(caught(() => fs.mkdirSync(p('/made'))), { code: 'EACCES', syscall: 'mkdir', path: p('/made') });
      expectErrno(caught(() => fs.unlinkSync(p('/file.txt'))), { code: 'EACCES', syscall: 'unlink', path: p('/file.txt') });
      expectErrno(caught(() => fs.rmdirSync(p('/dir/sub/deep'))), { code: 'EACCES', syscall: 'rmdir', path: p('/dir/sub/deep') });
      expectErrno(caught(() => fs.renameSync(p('/file.txt'), `${mine}/taken`)), { code: 'EACCES', syscall: 'rename', path: p('/file.txt'), dest: `${mine}/taken` });
      expectErrno(caught(() => fs.symlinkSync('x', p('/sym'))), { code: 'EACCES', syscall: 'symlink', path: 'x', dest: p('/sym') });
      expectErrno(caught(() => fs.copyFileSync(p('/file.txt'), p('/copy'))), { code: 'EACCES', syscall: 'copyfile', path: p('/file.txt'), dest: p('/copy') });
      fs.copyFileSync(p('/file.txt'), `${mine}/copy`);
      expect(fs.readFileSync(`${mine}/copy`, 'utf8')).toBe('hello world\n');
    });

    test('in a sticky directory only the owner of a name, or of the directory, removes it (EPERM)', () => {
      const { fs, admin } = ctx;
      admin.mkdirSync(p('/tmp'));
      admin.chmodSync(p('/tmp'), 0o1777);
      admin.writeFileSync(p('/tmp/roots'), 'root');
      admin.chmodSync(p('/tmp/roots'), 0o666);
      fs.writeFileSync(p('/tmp/mine'), 'user');
      fs.appendFileSync(p('/tmp/roots'), ' and user');
      expectErrno(caught(() => fs.unlinkSync(p('/tmp/roots'))), { code: 'EPERM', syscall: 'unlink', path: p('/tmp/roots') });
      expectErrno(caught(() => fs.renameSync(p('/tmp/roots'), p('/tmp/moved'))), { code: 'EPERM', syscall: 'rename', path: p('/tmp/roots'), dest: p('/tmp/moved') });
      expectErrno(caught(() => fs.renameSync(p('/tmp/mine'), p('/tmp/roots'))), { code: 'EPERM', syscall: 'rename', path: p('/tmp/mine'), dest: p('/tmp/roots') });
      fs.renameSync(p('/tmp/mine'), p('/tmp/mine2'));
      fs.unlinkSync(p('/tmp/mine2'));
      expect(admin.readdirSync(p('/tmp'))).toEqual(['roots']);
      expect(admin.readFileSync(p('/tmp/roots'), 'utf8')).toBe('root and user');
    });

    test('only the owner changes modes, times and groups; nobody but root gives a file away (EPERM)', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.chmodSync(p('/file.txt'), 0o666)), { code: 'EPERM', syscall: 'chmod', path: p('/file.txt') });
      expectErrno(caught(() => fs.utimesSync(p('/file.txt'), 1, 1)), { code: 'EPERM', syscall: 'utime', path: p('/file.txt') });
      expectErrno(caught(() => fs.chownSync(p('/file.txt'), USER.uid, USER.gid)), { code: 'EPERM', syscall: 'chown', path: p('/file.txt') });
      const own = `${home()}/own`;
      fs.writeFileSync(own, '');
      fs.chmodSync(own, 0o600);
      fs.utimesSync(own, 1000, 2000);
      fs.chownSync(own, USER.uid, USER.gid);
      fs.chownSync(own, -1, -1);
      expect([mode(fs, own), fs.statSync(own).mtimeMs]).toEqual([0o600, 2_000_000]);
      expectErrno(caught(() => fs.chownSync(own, 0, -1)), { code: 'EPERM', syscall: 'chown', path: own });
      expectErrno(caught(() => fs.chownSync(own, -1, 0)), { code: 'EPERM', syscall: 'chown', path: own });
      // fs.protected_hardlinks (on by default): no link to a file the user may not read and write.
      expectErrno(caught(() => fs.linkSync(p('/file.txt'), `${own}-link`)), { code: 'EPERM', syscall: 'link', path: p('/file.txt'), dest: `${own}-link` });
    });

    test('a write or truncate by the user drops set-id bits; chmod outside the group drops setgid', () => {
      const { fs, admin } = ctx;
      admin.writeFileSync(p('/shared'), 'data');
      admin.chmodSync(p('/shared'), 0o6777);
      fs.appendFileSync(p('/shared'), '!');
      expect(mode(admin, p('/shared'))).toBe(0o777);
      admin.chmodSync(p('/shared'), 0o6777);
      fs.truncateSync(p('/shared'), 1);
      expect(mode(admin, p('/shared'))).toBe(0o777);
      // Without group execute, setgid is no set-id program's: a writer in the file's group keeps it.
      admin.chownSync(p('/shared'), 0, USER.gid);
      admin.chmodSync(p('/shared'), 0o6767);
      fs.appendFileSync(p('/shared'), '!');
      expect(mode(admin, p('/shared'))).toBe(0o2767);
      const own = `${home()}/own`;
      fs.writeFileSync(own, '');
      ctx.admin.chownSync(own, USER.uid, 0);
      fs.chmodSync(own, 0o2755);
      expect(mode(fs, own)).toBe(0o755);
    });

    ctx.test('sgidOutsideGroup')('a writer outside the file\u2019s group drops setgid, even without group execute', () => {
      const { fs, admin } = ctx;
      admin.writeFileSync(p('/shared'), 'data');
      admin.chmodSync(p('/shared'), 0o2767);
      fs.appendFileSync(p('/shared'), '!');
      expect(mode(admin, p('/shared'))).toBe(0o767);
    });

    test('new names belong to the user; a setgid directory gives them its group', () => {
      const { fs, admin } = ctx;
      admin.mkdirSync(p('/team'));
      admin.chownSync(p('/team'), 0, 50);
      admin.chmodSync(p('/team'), 0o2777);
      fs.writeFileSync(p('/team/f'), '');
      fs.mkdirSync(p('/team/d'));
      const [file, dir] = [fs.statSync(p('/team/f')), fs.statSync(p('/team/d'))];
      expect([file.uid, file.gid, dir.uid, dir.gid]).toEqual([USER.uid, 50, USER.uid, 50]);
      expect(dir.mode & 0o2000).toBe(0o2000);
      expect(file.mode & 0o2000).toBe(0);
    });
  });
}
