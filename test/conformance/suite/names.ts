import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno } from './context.js';

/** Making, moving, copying and removing names; symlinks; truncate and append. */
export function names(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const text = (path: string) => ctx.fs.readFileSync(p(path), 'utf8');

  describe('rename and remove', () => {
    test('rename replaces a file and moves a directory with its contents', () => {
      const { fs } = ctx;
      const ino = fs.statSync(p('/dir/a.txt')).ino;
      fs.renameSync(p('/dir/a.txt'), p('/file.txt'));
      expect(text('/file.txt')).toBe('a');
      expect(fs.statSync(p('/file.txt')).ino).toBe(ino);
      expect(fs.existsSync(p('/dir/a.txt'))).toBe(false);
      fs.renameSync(p('/dir'), p('/moved'));
      expect(text('/moved/sub/deep/d.txt')).toBe('dddd');
      expect(fs.existsSync(p('/dir'))).toBe(false);
      fs.mkdirSync(p('/dir'));
      expect(fs.readdirSync(p('/dir'))).toEqual([]);
      fs.renameSync(p('/moved/sub'), p('/dir'));
      expect(fs.readdirSync(p('/dir')).sort()).toEqual(['c.txt', 'deep']);
    });

    test('rename between two names of one inode changes nothing', () => {
      const { fs } = ctx;
      fs.renameSync(p('/hard1'), p('/hard2'));
      expect(fs.existsSync(p('/hard1'))).toBe(true);
      expect(fs.existsSync(p('/hard2'))).toBe(true);
    });

    test('rm: files, trees with force, and missing paths with force', () => {
      const { fs } = ctx;
      fs.rmSync(p('/file.txt'));
      expect(fs.existsSync(p('/file.txt'))).toBe(false);
      fs.rmSync(p('/dir'), { recursive: true });
      expect(fs.existsSync(p('/dir'))).toBe(false);
      fs.rmSync(p('/missing'), { force: true });
      fs.rmSync(p('/link-to-dir'), { recursive: true });
      expect(fs.existsSync(p('/link-to-dir'))).toBe(false);
    });

    test('rmdir removes only empty directories; unlink only non-directories', () => {
      const { fs } = ctx;
      fs.mkdirSync(p('/e'));
      fs.rmdirSync(p('/e'));
      expect(fs.existsSync(p('/e'))).toBe(false);
      fs.unlinkSync(p('/link-to-dir'));
      expect(fs.existsSync(p('/dir/a.txt'))).toBe(true);
      fs.unlinkSync(p('/dir/sub/deep/d.txt'));
      fs.rmdirSync(p('/dir/sub/deep'));
      expect(fs.readdirSync(p('/dir/sub'))).toEqual(['c.txt']);
    });

    test('mkdir recursive answers the first directory it made', () => {
      const { fs } = ctx;
      expect(fs.mkdirSync(p('/dir/x/y/z'), { recursive: true })).toBe(p('/dir/x'));
      expect(fs.mkdirSync(p('/dir/x/y/z'), { recursive: true })).toBeUndefined();
      expect(fs.statSync(p('/dir/x/y/z')).isDirectory()).toBe(true);
      expect(fs.mkdirSync(p('/link-to-dir/via-link'), { recursive: true })).toBe(p('/link-to-dir/via-link'));
      expect(fs.existsSync(p('/dir/via-link'))).toBe(true);
    });

    test('mkdtemp makes a private directory with six random characters', () => {
      const { fs } = ctx;
      const made = fs.mkdtempSync(p('/dir/tmp-'));
      expect(made).toMatch(/\/dir\/tmp-[A-Za-z0-9]{6}$/);
      expect(fs.statSync(made).mode).toBe(0o40700);
      expect(fs.mkdtempSync(p('/dir/tmp-'))).not.toBe(made);
    });
  });

  describe('copies and links', () => {
    test('copyFile copies content and mode; COPYFILE_EXCL refuses an existing target', () => {
      const { fs } = ctx;
      fs.copyFileSync(p('/exec.sh'), p('/copy.sh'));
      expect(text('/copy.sh')).toBe(text('/exec.sh'));
      expect(fs.statSync(p('/copy.sh')).mode).toBe(0o100755);
      expect(fs.statSync(p('/copy.sh')).ino).not.toBe(fs.statSync(p('/exec.sh')).ino);
      fs.copyFileSync(p('/file.txt'), p('/copy.sh'));
      expect(text('/copy.sh')).toBe('hello world\n');
      fs.writeFileSync(p('/copy.sh'), 'changed');
      expect(text('/file.txt')).toBe('hello world\n');
      fs.copyFileSync(p('/link-to-file'), p('/via-link'), fs.constants.COPYFILE_FICLONE);
      expect(fs.lstatSync(p('/via-link')).isFile()).toBe(true);
    });

    test('cp copies a tree recursively and refuses a directory without recursive', () => {
      const { fs } = ctx;
      fs.cpSync(p('/dir'), p('/copy'), { recursive: true });
      expect(fs.readdirSync(p('/copy'), { recursive: true }).map(String).sort()).toEqual(
        ['a.txt', 'b.txt', 'sub', 'sub/c.txt', 'sub/deep', 'sub/deep/d.txt'],
      );
      expect(text('/copy/sub/deep/d.txt')).toBe('dddd');
      fs.cpSync(p('/file.txt'), p('/copy/file.txt'));
      expect(text('/copy/file.txt')).toBe('hello world\n');
      const error = caught(() => fs.cpSync(p('/dir'), p('/other')));
      expect(error.code).toBe('ERR_FS_EISDIR');
      expect(caught(() => fs.cpSync(p('/dir'), p('/dir/sub/x'), { recursive: true })).code).toBe('ERR_FS_CP_EINVAL');
      expect(caught(() => fs.cpSync(p('/file.txt'), p('/empty'), { force: false, errorOnExist: true })).code).toBe('ERR_FS_CP_EEXIST');
    });

    test('link makes a second name for the same file', () => {
      const { fs } = ctx;
      fs.linkSync(p('/file.txt'), p('/dir/again'));
      fs.appendFileSync(p('/dir/again'), '!');
      expect(text('/file.txt')).toBe('hello world\n!');
      expect(fs.statSync(p('/file.txt')).nlink).toBe(2);
    });
  });

  describe('symlinks', () => {
    test('readlink, realpath, and writing through a link', () => {
      const { fs } = ctx;
      expect(fs.readlinkSync(p('/link-to-file'))).toBe('file.txt');
      expect(fs.realpathSync(p('/link-to-file'))).toBe(p('/file.txt'));
      expect(fs.realpathSync(p('/link-to-dir/sub/../a.txt'))).toBe(p('/dir/a.txt'));
      expect(fs.realpathSync(p('/link-to-dir/sub'))).toBe(p('/dir/sub'));
      expect(fs.realpathSync.native(p('/link-to-dir'))).toBe(p('/dir'));
      fs.writeFileSync(p('/link-to-file'), 'through');
      expect(text('/file.txt')).toBe('through');
      fs.symlinkSync('dir/sub', p('/new-link'));
      expect(text('/new-link/c.txt')).toBe('ccc');
      fs.unlinkSync(p('/link-to-file'));
      expect(text('/file.txt')).toBe('through');
    });

    test('realpath of a dangling link fails as stat of the link', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.realpathSync(p('/dangling'))), { code: 'ENOENT', syscall: 'stat', path: p('/dangling') });
      expectErrno(caught(() => fs.realpathSync(p('/missing/x'))), { code: 'ENOENT', syscall: 'lstat', path: p('/missing') });
      expectErrno(caught(() => fs.statSync(p('/dangling'))), { code: 'ENOENT', syscall: 'stat', path: p('/dangling') });
    });
  });

  describe('truncate and append', () => {
    test('truncate shortens, and lengthens with zeros', () => {
      const { fs } = ctx;
      fs.truncateSync(p('/file.txt'), 5);
      expect(text('/file.txt')).toBe('hello');
      fs.truncateSync(p('/file.txt'), 8);
      expect(fs.readFileSync(p('/file.txt'))).toEqual(Buffer.from('hello\0\0\0'));
      fs.truncateSync(p('/file.txt'));
      expect(fs.statSync(p('/file.txt')).size).toBe(0);
    });

    test('appendFile creates, then appends; encodings apply', () => {
      const { fs } = ctx;
      fs.appendFileSync(p('/log'), 'one\n');
      fs.appendFileSync(p('/log'), Buffer.from('two\n'));
      fs.appendFileSync(p('/log'), '74687265650a', 'hex');
      expect(text('/log')).toBe('one\ntwo\nthree\n');
      fs.writeFileSync(p('/b64'), 'aGk=', { encoding: 'base64' });
      expect(fs.readFileSync(p('/b64'), 'latin1')).toBe('hi');
      expect(fs.readFileSync(p('/b64'), { encoding: 'base64' })).toBe('aGk=');
    });

    test('writeFile with flag a appends; with wx refuses an existing file', () => {
      const { fs } = ctx;
      fs.writeFileSync(p('/file.txt'), 'more', { flag: 'a' });
      expect(text('/file.txt')).toBe('hello world\nmore');
      expect(() => fs.writeFileSync(p('/file.txt'), 'x', { flag: 'wx' })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    });
  });
}
