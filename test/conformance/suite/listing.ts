import { describe, expect } from 'vitest';
import type { Ctx } from './context.js';

const sorted = <T>(items: T[], key: (item: T) => string = String) => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** readdir in all its forms, opendir, and the stat fields. */
export function listing(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();

  describe('readdir and opendir', () => {
    test('names, with file types, and as buffers', () => {
      const { fs } = ctx;
      expect(sorted(fs.readdirSync(p('/dir')))).toEqual(['a.txt', 'b.txt', 'sub']);
      expect(sorted(fs.readdirSync(p('/')))).toEqual(
        ['dangling', 'dir', 'empty', 'exec.sh', 'file.txt', 'hard1', 'hard2', 'link-to-dir', 'link-to-file', 'loop-a', 'loop-b'],
      );
      const typed = sorted(fs.readdirSync(p('/'), { withFileTypes: true }), (entry) => entry.name);
      const kinds = typed.map((entry) => `${entry.name}:${entry.isFile() ? 'f' : entry.isDirectory() ? 'd' : entry.isSymbolicLink() ? 'l' : '?'}`);
      expect(kinds).toEqual(['dangling:l', 'dir:d', 'empty:f', 'exec.sh:f', 'file.txt:f', 'hard1:f', 'hard2:f', 'link-to-dir:l', 'link-to-file:l', 'loop-a:l', 'loop-b:l']);
      expect(typed[0]!.parentPath).toBe(p('/'));
      expect(sorted(fs.readdirSync(p('/dir'), { encoding: 'buffer' }).map(String))).toEqual(['a.txt', 'b.txt', 'sub']);
      expect(sorted(fs.readdirSync(p('/link-to-dir')))).toEqual(['a.txt', 'b.txt', 'sub']);
    });

    test('recursive lists relative paths and does not follow symlinks', () => {
      const { fs } = ctx;
      expect(sorted(fs.readdirSync(p('/dir'), { recursive: true }) as string[])).toEqual(
        ['a.txt', 'b.txt', 'sub', 'sub/c.txt', 'sub/deep', 'sub/deep/d.txt'],
      );
      const typed = fs.readdirSync(p('/dir'), { recursive: true, withFileTypes: true });
      expect(sorted(typed.map((entry) => `${entry.parentPath}|${entry.name}`))).toEqual(
        sorted([`${p('/dir')}|a.txt`, `${p('/dir')}|b.txt`, `${p('/dir')}|sub`, `${p('/dir')}/sub|c.txt`, `${p('/dir')}/sub|deep`, `${p('/dir')}/sub/deep|d.txt`]),
      );
    });

    test('a listing reflects creations and deletions', () => {
      const { fs } = ctx;
      fs.writeFileSync(p('/dir/new'), '');
      fs.unlinkSync(p('/dir/a.txt'));
      fs.rmSync(p('/dir/sub'), { recursive: true });
      expect(sorted(fs.readdirSync(p('/dir')))).toEqual(['b.txt', 'new']);
    });

    test('opendir reads entries one by one, then null', async () => {
      const { fs } = ctx;
      const dir = fs.opendirSync(p('/dir'));
      expect(dir.path).toBe(p('/dir'));
      const names: string[] = [];
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) names.push(`${entry.name}:${entry.isDirectory()}`);
      dir.closeSync();
      expect(sorted(names)).toEqual(['a.txt:false', 'b.txt:false', 'sub:true']);
      const seen: string[] = [];
      for await (const entry of await fs.promises.opendir(p('/dir/sub'))) seen.push(entry.name);
      expect(sorted(seen)).toEqual(['c.txt', 'deep']);
      expect(() => fs.opendirSync(p('/missing'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'opendir' }));
    });
  });

  describe('stat', () => {
    test('types and modes', () => {
      const { fs } = ctx;
      expect(fs.statSync(p('/file.txt')).mode).toBe(0o100644);
      expect(fs.statSync(p('/exec.sh')).mode).toBe(0o100755);
      expect(fs.statSync(p('/dir')).mode).toBe(0o40755);
      expect(fs.lstatSync(p('/link-to-file')).mode).toBe(0o120777);
      expect(fs.lstatSync(p('/link-to-file')).size).toBe('file.txt'.length);
      expect(fs.statSync(p('/link-to-file')).isFile()).toBe(true);
      expect(fs.statSync(p('/link-to-dir')).isDirectory()).toBe(true);
      expect(fs.lstatSync(p('/link-to-dir')).isSymbolicLink()).toBe(true);
      expect(fs.statSync(p('/missing'), { throwIfNoEntry: false })).toBeUndefined();
    });

    test('sizes and the mode of a new directory', () => {
      const { fs } = ctx;
      expect(fs.statSync(p('/file.txt')).size).toBe(12);
      expect(fs.statSync(p('/empty')).size).toBe(0);
      fs.mkdirSync(p('/made'), 0o777);
      expect(fs.statSync(p('/made')).mode).toBe(0o40755);
      fs.mkdirSync(p('/private'), { mode: 0o700 });
      expect(fs.statSync(p('/private')).mode).toBe(0o40700);
    });

    test('hard links share the inode and count their names', () => {
      const { fs } = ctx;
      const [a, b] = [fs.statSync(p('/hard1')), fs.statSync(p('/hard2'))];
      expect(a.ino).toBe(b.ino);
      expect(a.dev).toBe(b.dev);
      expect(a.nlink).toBe(2);
      fs.writeFileSync(p('/hard2'), 'changed');
      expect(fs.readFileSync(p('/hard1'), 'utf8')).toBe('changed');
      fs.linkSync(p('/hard1'), p('/hard3'));
      expect(fs.statSync(p('/hard3')).nlink).toBe(3);
      expect(fs.statSync(p('/hard3')).ino).toBe(a.ino);
      fs.unlinkSync(p('/hard1'));
      fs.unlinkSync(p('/hard2'));
      expect(fs.statSync(p('/hard3')).nlink).toBe(1);
      expect(fs.statSync(p('/file.txt')).ino).not.toBe(a.ino);
    });

    test('a write moves mtime and ctime forward', () => {
      const { fs } = ctx;
      fs.utimesSync(p('/file.txt'), 1000, 1000);
      const before = fs.statSync(p('/file.txt'));
      expect(before.mtimeMs).toBe(1_000_000);
      expect(before.mtime.getTime()).toBe(1_000_000);
      fs.appendFileSync(p('/file.txt'), 'more');
      const after = fs.statSync(p('/file.txt'));
      expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs);
      expect(after.ctimeMs).toBeGreaterThanOrEqual(before.ctimeMs);
      expect(after.atimeMs).toBe(1_000_000);
    });

    ctx.test('subMillisecondTimes')('bigint stats carry nanoseconds; times round-trip like libuv (microseconds)', () => {
      const { fs } = ctx;
      fs.utimesSync(p('/file.txt'), 1.123456789, new Date(5000));
      const big = fs.statSync(p('/file.txt'), { bigint: true });
      expect(big.atimeNs).toBe(1_123_456_000n);
      expect(big.mtimeNs).toBe(5_000_000_000n);
      expect(big.atimeMs).toBe(1123n);
      expect(big.size).toBe(12n);
      expect(big.isFile()).toBe(true);
      expect(fs.statSync(p('/file.txt')).atimeMs).toBe(1123.456);
      fs.lutimesSync(p('/link-to-file'), 7, 8);
      expect(fs.lstatSync(p('/link-to-file')).mtimeMs).toBe(8000);
      expect(fs.statSync(p('/file.txt')).mtimeMs).toBe(5000);
    });

    test('chmod and chown', () => {
      const { fs } = ctx;
      fs.chmodSync(p('/file.txt'), 0o600);
      expect(fs.statSync(p('/file.txt')).mode).toBe(0o100600);
      fs.chmodSync(p('/link-to-file'), '640');
      expect(fs.statSync(p('/file.txt')).mode).toBe(0o100640);
      expect(fs.lstatSync(p('/link-to-file')).mode).toBe(0o120777);
      const { uid, gid } = fs.statSync(p('/file.txt'));
      fs.chownSync(p('/file.txt'), uid, gid);
      fs.lchownSync(p('/link-to-file'), uid, gid);
      expect(fs.statSync(p('/file.txt')).uid).toBe(uid);
    });

    ctx.test('chown')('chown to another owner', () => {
      const { fs } = ctx;
      fs.chownSync(p('/file.txt'), 1234, 5678);
      expect(fs.statSync(p('/file.txt'))).toMatchObject({ uid: 1234, gid: 5678 });
      fs.chownSync(p('/file.txt'), -1, 42);
      expect(fs.statSync(p('/file.txt'))).toMatchObject({ uid: 1234, gid: 42 });
    });

    ctx.test('lchmod')('lchmod changes the link, not its target', () => {
      const { fs } = ctx;
      fs.lchmodSync(p('/link-to-file'), 0o700);
      expect(fs.lstatSync(p('/link-to-file')).mode).toBe(0o120700);
      expect(fs.statSync(p('/file.txt')).mode).toBe(0o100644);
    });
  });
}
