import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno } from './context.js';

const mode = (fs: Ctx['fs'], path: string) => fs.statSync(path).mode & 0o7777;

/**
 * Set-id bits, directory link counts and sizes, and O_CREAT over a dangling symlink, as Linux's
 * ext4 keeps them for a caller that is root (the suite runs as root where chown is tested).
 */
export function modes(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const chownTest = ctx.test('chown');
  const ext4Test = ctx.test('ext4DirSize');

  describe('set-id bits', () => {
    chownTest('chown drops setuid, and setgid with group execute, of a file; never of a directory', () => {
      const { fs } = ctx;
      const file = p('/exec.sh');
      fs.chmodSync(file, 0o6755);
      fs.chownSync(file, -1, -1);
      expect(mode(fs, file)).toBe(0o755);
      fs.chmodSync(file, 0o6755);
      fs.chownSync(file, 1000, 1000);
      expect(mode(fs, file)).toBe(0o755);
      // Without group execute, setgid marks mandatory locking, not a set-id program: it stays.
      fs.chmodSync(file, 0o2745);
      fs.chownSync(file, 0, 0);
      expect(mode(fs, file)).toBe(0o2745);
      fs.chmodSync(p('/dir'), 0o6755);
      fs.chownSync(p('/dir'), 1000, 1000);
      expect(mode(fs, p('/dir'))).toBe(0o6755);
    });

    chownTest('a write or truncate by root keeps the set-id bits (CAP_FSETID)', () => {
      const { fs } = ctx;
      const file = p('/exec.sh');
      fs.chmodSync(file, 0o6755);
      fs.appendFileSync(file, 'echo more\n');
      fs.truncateSync(file, 4);
      expect(mode(fs, file)).toBe(0o6755);
    });
  });

  describe('directory link counts and sizes', () => {
    test('a directory has 2 links plus one per subdirectory, through mkdir, rmdir and rename', () => {
      const { fs } = ctx;
      const nlink = (path: string) => fs.statSync(p(path)).nlink;
      expect([nlink('/dir'), nlink('/dir/sub'), nlink('/dir/sub/deep')]).toEqual([3, 3, 2]);
      fs.mkdirSync(p('/dir/two'));
      fs.mkdirSync(p('/dir/three'));
      expect(nlink('/dir')).toBe(5);
      fs.rmdirSync(p('/dir/three'));
      expect(nlink('/dir')).toBe(4);
      fs.renameSync(p('/dir/sub/deep'), p('/dir/two/deep'));
      expect([nlink('/dir/sub'), nlink('/dir/two')]).toEqual([2, 3]);
      fs.mkdirSync(p('/empty-dir'));
      fs.renameSync(p('/dir/two/deep'), p('/empty-dir/inner'));
      // Replacing an empty directory leaves the count of the target's parent unchanged.
      fs.mkdirSync(p('/dir/sub/victim'));
      fs.renameSync(p('/empty-dir/inner'), p('/dir/sub/victim'));
      expect([nlink('/dir/sub'), nlink('/dir/two'), nlink('/empty-dir')]).toEqual([3, 2, 2]);
      fs.renameSync(p('/dir/a.txt'), p('/dir/two/a.txt'));
      expect(nlink('/dir/two')).toBe(2);
      fs.rmSync(p('/dir'), { recursive: true });
      expect(fs.statSync(p('/empty-dir')).nlink).toBe(2);
    });

    ext4Test('a directory reports one 4 KiB block, as ext4 does', () => {
      const { fs } = ctx;
      for (const dir of ['/dir', '/dir/sub/deep']) {
        const stat = fs.statSync(p(dir));
        expect([stat.size, stat.blocks]).toEqual([4096, 8]);
      }
    });
  });

  describe('O_CREAT and symlinks', () => {
    test('O_EXCL refuses a dangling symlink; O_CREAT alone makes its target', () => {
      const { fs } = ctx;
      const { O_CREAT, O_EXCL, O_WRONLY } = fs.constants;
      expectErrno(caught(() => fs.openSync(p('/dangling'), O_CREAT | O_EXCL | O_WRONLY)), { code: 'EEXIST', syscall: 'open', path: p('/dangling') });
      expect(fs.existsSync(p('/nowhere'))).toBe(false);
      fs.closeSync(fs.openSync(p('/dangling'), O_CREAT | O_WRONLY));
      expect(fs.lstatSync(p('/nowhere')).isFile()).toBe(true);
      expect(fs.lstatSync(p('/dangling')).isSymbolicLink()).toBe(true);
    });
  });
}
