import { describe, expect } from 'vitest';
import type { Ctx } from './context.js';

/** Open flags, the file offset, positional I/O, and what an fd keeps alive. */
export function descriptors(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const text = (path: string) => ctx.fs.readFileSync(p(path), 'utf8');

  describe('file descriptors', () => {
    test('reads without a position advance the offset; positional reads do not', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'r');
      const buffer = Buffer.alloc(5);
      expect(fs.readSync(fd, buffer, 0, 5, null)).toBe(5);
      expect(buffer.toString()).toBe('hello');
      expect(fs.readSync(fd, buffer, 0, 3, 6)).toBe(3);
      expect(buffer.subarray(0, 3).toString()).toBe('wor');
      expect(fs.readSync(fd, buffer, 0, 5, null)).toBe(5);
      expect(buffer.toString()).toBe(' worl');
      expect(fs.readSync(fd, buffer, { position: 100 })).toBe(0);
      expect(fs.readSync(fd, buffer)).toBe(2);
      expect(fs.readSync(fd, buffer)).toBe(0);
      fs.closeSync(fd);
    });

    test('writes at the offset, at a position, and O_APPEND always at the end', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'r+');
      expect(fs.writeSync(fd, 'HE')).toBe(2);
      expect(fs.writeSync(fd, Buffer.from('LL'))).toBe(2);
      expect(fs.writeSync(fd, 'W', 6)).toBe(1);
      expect(fs.writeSync(fd, Buffer.from('xyz'), 1, 1)).toBe(1);
      fs.closeSync(fd);
      expect(text('/file.txt')).toBe('HELLy World\n');
      const append = fs.openSync(p('/file.txt'), 'a');
      fs.writeSync(append, '1');
      fs.writeSync(append, '2', 0);
      fs.closeSync(append);
      expect(text('/file.txt')).toBe('HELLy World\n12');
    });

    test("'a+' reads from the start and appends", () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/dir/a.txt'), 'a+');
      const buffer = Buffer.alloc(10);
      expect(fs.readSync(fd, buffer, 0, 10, null)).toBe(1);
      fs.writeSync(fd, 'Z');
      fs.closeSync(fd);
      expect(text('/dir/a.txt')).toBe('aZ');
    });

    test('w truncates, wx creates only, O_CREAT takes the mode minus the umask', () => {
      const { fs } = ctx;
      fs.closeSync(fs.openSync(p('/file.txt'), 'w'));
      expect(fs.statSync(p('/file.txt')).size).toBe(0);
      const fd = fs.openSync(p('/fresh'), 'wx', 0o777);
      fs.closeSync(fd);
      expect(fs.statSync(p('/fresh')).mode).toBe(0o100755);
      const flags = fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC;
      fs.closeSync(fs.openSync(p('/dir/b.txt'), flags));
      expect(text('/dir/b.txt')).toBe('');
    });

    test('O_CREAT through a dangling symlink creates its target', () => {
      const { fs } = ctx;
      fs.writeFileSync(p('/dangling'), 'made');
      expect(text('/nowhere')).toBe('made');
      expect(fs.lstatSync(p('/dangling')).isSymbolicLink()).toBe(true);
    });

    test('an open file stays readable and writable after its last name is gone', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/dir/b.txt'), 'r+');
      fs.unlinkSync(p('/dir/b.txt'));
      expect(fs.existsSync(p('/dir/b.txt'))).toBe(false);
      fs.writeSync(fd, 'X', 0);
      const buffer = Buffer.alloc(4);
      expect(fs.readSync(fd, buffer, 0, 4, 0)).toBe(2);
      expect(buffer.subarray(0, 2).toString()).toBe('Xb');
      expect(fs.fstatSync(fd).nlink).toBe(0);
      fs.closeSync(fd);
    });

    test('fstat, ftruncate, fchmod, futimes, fsync and fdatasync', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'r+');
      expect(fs.fstatSync(fd).size).toBe(12);
      fs.ftruncateSync(fd, 5);
      expect(fs.fstatSync(fd).size).toBe(5);
      fs.fchmodSync(fd, 0o600);
      expect(fs.fstatSync(fd).mode & 0o7777).toBe(0o600);
      fs.futimesSync(fd, 1000, 2000);
      expect(fs.fstatSync(fd).mtimeMs).toBe(2_000_000);
      fs.fsyncSync(fd);
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      expect(text('/file.txt')).toBe('hello');
    });

    test('readv and writev', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'r+');
      const [a, b] = [Buffer.alloc(5), Buffer.alloc(3)];
      expect(fs.readvSync(fd, [a, b], 0)).toBe(8);
      expect(`${a}|${b}`).toBe('hello| wo');
      expect(fs.writevSync(fd, [Buffer.from('AB'), Buffer.from('CD')], 1)).toBe(4);
      fs.closeSync(fd);
      expect(text('/file.txt')).toBe('hABCD world\n');
    });

    test('a directory opens for reading but reads fail with EISDIR', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/dir'), 'r');
      expect(fs.fstatSync(fd).isDirectory()).toBe(true);
      expect(() => fs.readSync(fd, Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'EISDIR', syscall: 'read' }));
      fs.closeSync(fd);
    });

    test('readFile and writeFile through an fd use its offset', () => {
      const { fs } = ctx;
      const fd = fs.openSync(p('/file.txt'), 'r+');
      fs.readSync(fd, Buffer.alloc(6));
      expect(fs.readFileSync(fd, 'utf8')).toBe('world\n');
      fs.writeFileSync(fd, '!');
      fs.closeSync(fd);
      expect(text('/file.txt')).toBe('hello world\n!');
    });
  });
}
