import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno } from './context.js';

/** The common failures, with every field Node gives them. */
export function errors(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();

  describe('errors', () => {
    test('a missing path is ENOENT with the syscall that failed', () => {
      const { fs } = ctx;
      const missing = p('/missing');
      expectErrno(caught(() => fs.openSync(missing, 'r')), { code: 'ENOENT', syscall: 'open', path: missing });
      expectErrno(caught(() => fs.readFileSync(missing)), { code: 'ENOENT', syscall: 'open', path: missing });
      expectErrno(caught(() => fs.statSync(missing)), { code: 'ENOENT', syscall: 'stat', path: missing });
      expectErrno(caught(() => fs.lstatSync(missing)), { code: 'ENOENT', syscall: 'lstat', path: missing });
      expectErrno(caught(() => fs.readdirSync(missing)), { code: 'ENOENT', syscall: 'scandir', path: missing });
      expectErrno(caught(() => fs.unlinkSync(missing)), { code: 'ENOENT', syscall: 'unlink', path: missing });
      expectErrno(caught(() => fs.rmdirSync(missing)), { code: 'ENOENT', syscall: 'rmdir', path: missing });
      expectErrno(caught(() => fs.readlinkSync(missing)), { code: 'ENOENT', syscall: 'readlink', path: missing });
      expectErrno(caught(() => fs.chmodSync(missing, 0o600)), { code: 'ENOENT', syscall: 'chmod', path: missing });
      expectErrno(caught(() => fs.utimesSync(missing, 1, 1)), { code: 'ENOENT', syscall: 'utime', path: missing });
      expectErrno(caught(() => fs.accessSync(missing)), { code: 'ENOENT', syscall: 'access', path: missing });
      expectErrno(caught(() => fs.truncateSync(missing)), { code: 'ENOENT', syscall: 'open', path: missing });
      expectErrno(caught(() => fs.mkdirSync(p('/missing/child'))), { code: 'ENOENT', syscall: 'mkdir', path: p('/missing/child') });
      expectErrno(caught(() => fs.rmSync(missing)), { code: 'ENOENT', syscall: 'lstat', path: missing });
    });

    test('two-path calls name both paths', () => {
      const { fs } = ctx;
      const [missing, other] = [p('/missing'), p('/other')];
      expectErrno(caught(() => fs.renameSync(missing, other)), { code: 'ENOENT', syscall: 'rename', path: missing, dest: other });
      expectErrno(caught(() => fs.copyFileSync(missing, other)), { code: 'ENOENT', syscall: 'copyfile', path: missing, dest: other });
      expectErrno(caught(() => fs.linkSync(p('/file.txt'), p('/empty'))), { code: 'EEXIST', syscall: 'link', path: p('/file.txt'), dest: p('/empty') });
      expectErrno(caught(() => fs.symlinkSync('target', p('/empty'))), { code: 'EEXIST', syscall: 'symlink', path: 'target', dest: p('/empty') });
      expectErrno(caught(() => fs.copyFileSync(p('/file.txt'), p('/empty'), fs.constants.COPYFILE_EXCL)), {
        code: 'EEXIST',
        syscall: 'copyfile',
        path: p('/file.txt'),
        dest: p('/empty'),
      });
      expectErrno(caught(() => fs.symlinkSync('x', p('/missing/link'))), { code: 'ENOENT', syscall: 'symlink', path: 'x', dest: p('/missing/link') });
    });

    test('EEXIST, ENOTDIR and EISDIR', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.mkdirSync(p('/dir'))), { code: 'EEXIST', syscall: 'mkdir', path: p('/dir') });
      expectErrno(caught(() => fs.openSync(p('/file.txt'), 'wx')), { code: 'EEXIST', syscall: 'open', path: p('/file.txt') });
      expectErrno(caught(() => fs.openSync(p('/dangling'), 'wx')), { code: 'EEXIST', syscall: 'open', path: p('/dangling') });
      expectErrno(caught(() => fs.statSync(p('/file.txt/x'))), { code: 'ENOTDIR', syscall: 'stat', path: p('/file.txt/x') });
      expectErrno(caught(() => fs.statSync(p('/file.txt/'))), { code: 'ENOTDIR', syscall: 'stat', path: p('/file.txt/') });
      expectErrno(caught(() => fs.readdirSync(p('/file.txt'))), { code: 'ENOTDIR', syscall: 'scandir', path: p('/file.txt') });
      expectErrno(caught(() => fs.rmdirSync(p('/file.txt'))), { code: 'ENOTDIR', syscall: 'rmdir', path: p('/file.txt') });
      expectErrno(caught(() => fs.unlinkSync(p('/file.txt/'))), { code: 'ENOTDIR', syscall: 'unlink', path: p('/file.txt/') });
      expectErrno(caught(() => fs.openSync(p('/file.txt'), fs.constants.O_DIRECTORY)), { code: 'ENOTDIR', syscall: 'open', path: p('/file.txt') });
      expectErrno(caught(() => fs.mkdirSync(p('/file.txt'), { recursive: true })), { code: 'EEXIST', syscall: 'mkdir', path: p('/file.txt') });
      expectErrno(caught(() => fs.mkdirSync(p('/file.txt/a/b'), { recursive: true })), { code: 'ENOTDIR', syscall: 'mkdir', path: p('/file.txt/a/b') });
      expectErrno(caught(() => fs.openSync(p('/dir'), 'w')), { code: 'EISDIR', syscall: 'open', path: p('/dir') });
      expectErrno(caught(() => fs.writeFileSync(p('/dir'), 'x')), { code: 'EISDIR', syscall: 'open', path: p('/dir') });
      expectErrno(caught(() => fs.writeFileSync(p('/new/'), 'x')), { code: 'EISDIR', syscall: 'open', path: p('/new/') });
      expectErrno(caught(() => fs.unlinkSync(p('/dir'))), { code: 'EISDIR', syscall: 'unlink', path: p('/dir') });
      expectErrno(caught(() => fs.readFileSync(p('/dir'))), { code: 'EISDIR', syscall: 'read' });
      expectErrno(caught(() => fs.truncateSync(p('/dir'))), { code: 'EISDIR', syscall: 'open', path: p('/dir') });
      expectErrno(caught(() => fs.copyFileSync(p('/dir'), p('/copy'))), { code: 'EISDIR', syscall: 'copyfile', path: p('/dir'), dest: p('/copy') });
    });

    test('rename refusals', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.renameSync(p('/file.txt'), p('/dir'))), { code: 'EISDIR', syscall: 'rename', path: p('/file.txt'), dest: p('/dir') });
      expectErrno(caught(() => fs.renameSync(p('/dir'), p('/file.txt'))), { code: 'ENOTDIR', syscall: 'rename', path: p('/dir'), dest: p('/file.txt') });
      expectErrno(caught(() => fs.renameSync(p('/dir'), p('/dir/sub/inside'))), { code: 'EINVAL', syscall: 'rename', path: p('/dir'), dest: p('/dir/sub/inside') });
      fs.mkdirSync(p('/empty-dir'));
      expectErrno(caught(() => fs.renameSync(p('/empty-dir'), p('/dir'))), { code: 'ENOTEMPTY', syscall: 'rename', path: p('/empty-dir'), dest: p('/dir') });
    });

    test('ENOTEMPTY, EINVAL, EPERM and ELOOP', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.rmdirSync(p('/dir'))), { code: 'ENOTEMPTY', syscall: 'rmdir', path: p('/dir') });
      expectErrno(caught(() => fs.readlinkSync(p('/file.txt'))), { code: 'EINVAL', syscall: 'readlink', path: p('/file.txt') });
      expectErrno(caught(() => fs.linkSync(p('/dir'), p('/dir2'))), { code: 'EPERM', syscall: 'link', path: p('/dir'), dest: p('/dir2') });
      expectErrno(caught(() => fs.openSync(p('/link-to-file'), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)), { code: 'ELOOP', syscall: 'open', path: p('/link-to-file') });
      expectErrno(caught(() => fs.statSync(p('/loop-a'))), { code: 'ELOOP', syscall: 'stat', path: p('/loop-a') });
      expect(fs.lstatSync(p('/loop-a')).isSymbolicLink()).toBe(true);
    });

    test('EBADF names no path', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'w');
      expectErrno(caught(() => fs.readSync(fd, Buffer.alloc(4))), { code: 'EBADF', syscall: 'read' });
      fs.closeSync(fd);
      const reader = fs.openSync(p('/file.txt'), 'r');
      expectErrno(caught(() => fs.writeSync(reader, 'x')), { code: 'EBADF', syscall: 'write' });
      expectErrno(caught(() => fs.ftruncateSync(reader, 1)), { code: 'EINVAL', syscall: 'ftruncate' });
      fs.closeSync(reader);
      expectErrno(caught(() => fs.closeSync(reader)), { code: 'EBADF', syscall: 'close' });
      expectErrno(caught(() => fs.fstatSync(reader)), { code: 'EBADF', syscall: 'fstat' });
    });

    test('access: X_OK needs an execute bit', () => {
      const { fs } = ctx;
      fs.accessSync(p('/file.txt'));
      fs.accessSync(p('/file.txt'), fs.constants.R_OK | fs.constants.W_OK);
      fs.accessSync(p('/exec.sh'), fs.constants.X_OK);
      fs.accessSync(p('/dir'), fs.constants.X_OK);
      expectErrno(caught(() => fs.accessSync(p('/file.txt'), fs.constants.X_OK)), { code: 'EACCES', syscall: 'access', path: p('/file.txt') });
      expect(fs.existsSync(p('/file.txt'))).toBe(true);
      expect(fs.existsSync(p('/dangling'))).toBe(false);
      expect(fs.existsSync(p('/missing'))).toBe(false);
    });

    test('rm of a directory without recursive is a SystemError', () => {
      const { fs } = ctx;
      const error = caught(() => fs.rmSync(p('/dir')));
      expect(error.name).toBe('SystemError');
      expect(error.code).toBe('ERR_FS_EISDIR');
      expect(error.errno).toBe(21);
      expect(error.syscall).toBe('rm');
      expect(error.path).toBe(p('/dir'));
      expect(error.info).toMatchObject({ code: 'EISDIR', message: 'is a directory', path: p('/dir'), syscall: 'rm', errno: 21 });
      expect(error.message).toBe(`Path is a directory: rm returned EISDIR (is a directory) ${p('/dir')}`);
    });

    test('mkdtemp reports the template it tried', () => {
      const { fs } = ctx;
      expectErrno(caught(() => fs.mkdtempSync(p('/missing/tmp-'))), { code: 'ENOENT', syscall: 'mkdtemp', path: p('/missing/tmp-XXXXXX') });
    });

    test('bad argument types are TypeErrors with ERR_INVALID_ARG_TYPE', () => {
      const { fs } = ctx;
      const error = caught(() => fs.readFileSync(null as never));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(error.message).toBe('The "path" argument must be of type string or an instance of Buffer or URL. Received null');
      expect(caught(() => fs.openSync(p('/file.txt'), 'z' as never)).message).toBe("The argument 'flags' is invalid. Received 'z'");
      expect(caught(() => fs.fstatSync('3' as never)).message).toBe('The "fd" argument must be of type number. Received type string (\'3\')');
      expect(caught(() => fs.writeFileSync(p('/x'), 5 as never)).message).toBe(
        'The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (5)',
      );
      expect(caught(() => fs.readFile(p('/file.txt'), undefined as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    });
  });
}
