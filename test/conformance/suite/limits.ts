import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno } from './context.js';

// Linux's limits (linux/limits.h): a name of NAME_MAX bytes, a path shorter than PATH_MAX bytes.
const NAME_MAX = 255;
const PATH_MAX = 4096;

/**
 * Makes directories under `base` (which must exist) until one more name of 1 to 255 bytes makes a
 * path of exactly `total` bytes; answers that path (its parent exists, the name does not).
 */
function pathOfLength(fs: Ctx['fs'], base: string, total: number): string {
  let dir = base;
  while (total - dir.length - 1 > NAME_MAX) {
    dir += `/${'d'.repeat(200)}`;
    fs.mkdirSync(dir);
  }
  return `${dir}/${'n'.repeat(total - dir.length - 1)}`;
}

/** ENAMETOOLONG exactly past NAME_MAX and PATH_MAX, for every call and both names of two-name calls. */
export function limits(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const chownTest = ctx.test('chown');
  const name = (length: number, fill = 'x') => p(`/dir/${fill.repeat(length)}`);

  describe('name and path limits', () => {
    test('a name of NAME_MAX bytes works in every call', () => {
      const { fs } = ctx;
      const [at, other, dir] = [name(NAME_MAX), name(NAME_MAX, 'y'), name(NAME_MAX, 'z')];
      fs.writeFileSync(at, 'data');
      fs.chmodSync(at, 0o600);
      fs.truncateSync(at, 2);
      fs.utimesSync(at, 1, 1);
      fs.linkSync(at, other);
      expect(fs.statSync(other).nlink).toBe(2);
      fs.unlinkSync(other);
      fs.renameSync(at, other);
      fs.renameSync(other, at);
      fs.symlinkSync('a.txt', other);
      expect(fs.readFileSync(other, 'utf8')).toBe('a');
      fs.mkdirSync(dir);
      fs.rmdirSync(dir);
      expect(fs.readdirSync(p('/dir')).filter((entry) => entry.length === NAME_MAX).sort()).toEqual([at, other].map((path) => path.slice(-NAME_MAX)).sort());
      expect(fs.readFileSync(at, 'utf8')).toBe('da');
    });

    test('a name of NAME_MAX + 1 bytes is ENAMETOOLONG in every call', () => {
      const { fs } = ctx;
      const long = name(NAME_MAX + 1);
      const [file, dir] = [p('/file.txt'), p('/dir')];
      const one = (action: () => unknown, syscall: string, path: string, dest?: string) =>
        expectErrno(caught(action), { code: 'ENAMETOOLONG', syscall, path, ...(dest === undefined ? {} : { dest }) });
      one(() => fs.openSync(long, 'w'), 'open', long);
      one(() => fs.openSync(long, 'r'), 'open', long);
      one(() => fs.statSync(long), 'stat', long);
      one(() => fs.lstatSync(long), 'lstat', long);
      one(() => fs.chmodSync(long, 0o600), 'chmod', long);
      one(() => fs.truncateSync(long), 'open', long);
      one(() => fs.utimesSync(long, 1, 1), 'utime', long);
      one(() => fs.mkdirSync(long), 'mkdir', long);
      one(() => fs.rmdirSync(long), 'rmdir', long);
      one(() => fs.unlinkSync(long), 'unlink', long);
      one(() => fs.readdirSync(long), 'scandir', long);
      one(() => fs.readlinkSync(long), 'readlink', long);
      one(() => fs.linkSync(long, file), 'link', long, file);
      one(() => fs.linkSync(file, long), 'link', file, long);
      one(() => fs.renameSync(long, file), 'rename', long, file);
      one(() => fs.renameSync(file, long), 'rename', file, long);
      one(() => fs.renameSync(dir, `${long}/`), 'rename', dir, `${long}/`);
      one(() => fs.symlinkSync('target', long), 'symlink', 'target', long);
      one(() => fs.statSync(`${long}/x`), 'stat', `${long}/x`);
      // A missing directory before the long name is found first, as the kernel walks.
      expectErrno(caught(() => fs.statSync(p(`/missing/${'x'.repeat(NAME_MAX + 1)}`))), { code: 'ENOENT', syscall: 'stat', path: p(`/missing/${'x'.repeat(NAME_MAX + 1)}`) });
      expect(fs.readdirSync(p('/dir')).sort()).toEqual(['a.txt', 'b.txt', 'sub']);
    });

    chownTest('chown takes a name of NAME_MAX bytes and refuses one more', () => {
      const { fs } = ctx;
      const [at, long] = [name(NAME_MAX), name(NAME_MAX + 1)];
      fs.writeFileSync(at, '');
      fs.chownSync(at, 1000, 1000);
      expect(fs.statSync(at).uid).toBe(1000);
      expectErrno(caught(() => fs.chownSync(long, 0, 0)), { code: 'ENAMETOOLONG', syscall: 'chown', path: long });
    });

    test('a path of PATH_MAX - 1 bytes works; PATH_MAX bytes is ENAMETOOLONG', () => {
      const { fs } = ctx;
      fs.mkdirSync(p('/deep'));
      const longest = pathOfLength(fs, p('/deep'), PATH_MAX - 1);
      expect(Buffer.byteLength(longest)).toBe(PATH_MAX - 1);
      fs.writeFileSync(longest, 'far');
      expect(fs.readFileSync(longest, 'utf8')).toBe('far');
      fs.chmodSync(longest, 0o600);
      fs.truncateSync(longest, 1);
      expect(fs.statSync(longest).size).toBe(1);
      fs.unlinkSync(longest);
      fs.mkdirSync(longest);
      fs.rmdirSync(longest);
      fs.symlinkSync('target', longest);
      expect(fs.readlinkSync(longest)).toBe('target');
      fs.unlinkSync(longest);
      const tooLong = `${longest}x`;
      for (const [action, syscall] of [
        [() => fs.writeFileSync(tooLong, 'x'), 'open'],
        [() => fs.statSync(tooLong), 'stat'],
        [() => fs.mkdirSync(tooLong), 'mkdir'],
        [() => fs.unlinkSync(tooLong), 'unlink'],
        [() => fs.chmodSync(tooLong, 0o600), 'chmod'],
      ] as const) {
        expectErrno(caught(action), { code: 'ENAMETOOLONG', syscall, path: tooLong });
      }
      expectErrno(caught(() => fs.renameSync(p('/file.txt'), tooLong)), { code: 'ENAMETOOLONG', syscall: 'rename', path: p('/file.txt'), dest: tooLong });
      expectErrno(caught(() => fs.linkSync(tooLong, p('/x'))), { code: 'ENAMETOOLONG', syscall: 'link', path: tooLong, dest: p('/x') });
      fs.renameSync(p('/file.txt'), longest);
      expect(fs.readFileSync(longest, 'utf8')).toBe('hello world\n');
      fs.linkSync(longest, p('/file.txt'));
      expect(fs.statSync(p('/file.txt')).nlink).toBe(2);
    });

    test('a symlink target of PATH_MAX - 1 bytes is kept; PATH_MAX bytes is ENAMETOOLONG', () => {
      const { fs } = ctx;
      const target = 't'.repeat(PATH_MAX - 1);
      fs.symlinkSync(target, p('/long-link'));
      expect(fs.readlinkSync(p('/long-link'))).toBe(target);
      expect(fs.lstatSync(p('/long-link')).size).toBe(PATH_MAX - 1);
      // Following it walks a name longer than NAME_MAX.
      expectErrno(caught(() => fs.statSync(p('/long-link'))), { code: 'ENAMETOOLONG', syscall: 'stat', path: p('/long-link') });
      const tooLong = `${target}t`;
      expectErrno(caught(() => fs.symlinkSync(tooLong, p('/longer-link'))), { code: 'ENAMETOOLONG', syscall: 'symlink', path: tooLong, dest: p('/longer-link') });
      expect(fs.existsSync(p('/longer-link'))).toBe(false);
    });

    test('PATH_MAX limits the path given, not the place a symlink leads to', () => {
      const { fs } = ctx;
      fs.mkdirSync(p('/deep'));
      // A directory whose own path is close to PATH_MAX, reached through a short symlink: names
      // made through the link have canonical paths longer than PATH_MAX, and still work.
      const leaf = pathOfLength(fs, p('/deep'), PATH_MAX - 100);
      fs.mkdirSync(leaf);
      fs.symlinkSync(leaf.slice(p('/').length), p('/short'));
      const far = p(`/short/${'f'.repeat(200)}`);
      fs.writeFileSync(far, 'beyond');
      expect(fs.readFileSync(far, 'utf8')).toBe('beyond');
      fs.mkdirSync(p('/short/sub'));
      fs.renameSync(far, p('/short/sub/moved'));
      fs.linkSync(p('/short/sub/moved'), p('/short/again'));
      fs.symlinkSync('sub/moved', p('/short/link'));
      expect(fs.readFileSync(p('/short/link'), 'utf8')).toBe('beyond');
      expect(fs.statSync(p('/short/again')).nlink).toBe(2);
      fs.unlinkSync(p('/short/again'));
      fs.unlinkSync(p('/short/link'));
      fs.unlinkSync(p('/short/sub/moved'));
      fs.rmdirSync(p('/short/sub'));
      expect(fs.readdirSync(p('/short'))).toEqual([]);
    });
  });
}
