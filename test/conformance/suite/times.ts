import { describe, expect } from 'vitest';
import type { Ctx } from './context.js';

const OLD = 1_000_000; // seconds: a time no operation sets by itself

/** Waits long enough for the kernel's coarse clock (a jiffy) to move on. */
function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

/**
 * Which times an operation changes, as ext4 (and tmpfs) change them: every path watched gets
 * old atime and mtime (and ctime "now"), the clock moves on, the operation runs, and each watched
 * path (or open file) answers the letters of the times that moved: 'a', 'm', 'c'.
 */
function timesChanged(fs: Ctx['fs'], watched: Record<string, string | number>, operation: () => void): Record<string, string> {
  const before: Record<string, bigint[]> = {};
  for (const at of Object.values(watched)) {
    if (typeof at === 'number') fs.futimesSync(at, OLD, OLD);
    else fs.utimesSync(at, OLD, OLD);
  }
  pause();
  for (const [key, path] of Object.entries(watched)) before[key] = times(fs, path);
  operation();
  const changed: Record<string, string> = {};
  for (const [key, path] of Object.entries(watched)) {
    const after = times(fs, path);
    changed[key] = ['a', 'm', 'c'].filter((_, i) => after[i] !== before[key]![i]).join('');
  }
  return changed;
}

/** The times of a path, or of an open file (a name a rename takes away). */
function times(fs: Ctx['fs'], at: string | number): bigint[] {
  const stat = typeof at === 'number' ? fs.fstatSync(at, { bigint: true }) : fs.statSync(at, { bigint: true });
  return [stat.atimeNs, stat.mtimeNs, stat.ctimeNs];
}

/** atime, mtime and ctime of a file and of its directories after each operation, as ext4 keeps them. */
export function timeUpdates(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const chownTest = ctx.test('chown');
  const atimeTest = ctx.test('atimeOnRead');

  describe('time updates', () => {
    test('creating a name changes its directory', () => {
      const { fs } = ctx;
      const dir = p('/dir');
      expect(timesChanged(fs, { dir }, () => fs.writeFileSync(p('/dir/new'), 'x'))).toEqual({ dir: 'mc' });
      expect(timesChanged(fs, { dir }, () => fs.mkdirSync(p('/dir/made')))).toEqual({ dir: 'mc' });
      expect(timesChanged(fs, { dir }, () => fs.symlinkSync('a.txt', p('/dir/sym')))).toEqual({ dir: 'mc' });
      expect(timesChanged(fs, { dir, file: p('/file.txt') }, () => fs.linkSync(p('/file.txt'), p('/dir/hard')))).toEqual({ dir: 'mc', file: 'c' });
      expect(timesChanged(fs, { dir }, () => fs.closeSync(fs.openSync(p('/dir/made'), 'r')))).toEqual({ dir: '' });
    });

    test('removing a name changes its directory and the inode that loses a link', () => {
      const { fs } = ctx;
      const root = p('/');
      expect(timesChanged(fs, { root, other: p('/hard1') }, () => fs.unlinkSync(p('/hard2')))).toEqual({ root: 'mc', other: 'c' });
      fs.unlinkSync(p('/dir/sub/deep/d.txt'));
      expect(timesChanged(fs, { dir: p('/dir/sub') }, () => fs.rmdirSync(p('/dir/sub/deep/')))).toEqual({ dir: 'mc' });
    });

    test('rename changes both directories and the moved inode, and the inode it replaced', () => {
      const { fs } = ctx;
      const [from, to] = [p('/dir'), p('/')];
      const [moved, replaced] = [fs.openSync(p('/dir/a.txt'), 'r'), fs.openSync(p('/empty'), 'r')];
      expect(timesChanged(fs, { from, to, moved, replaced }, () => fs.renameSync(p('/dir/a.txt'), p('/empty')))).toEqual({
        from: 'mc',
        to: 'mc',
        moved: 'c',
        replaced: 'c',
      });
      const dir = fs.openSync(p('/dir/sub'), 'r');
      expect(timesChanged(fs, { from, to, moved: dir }, () => fs.renameSync(p('/dir/sub'), p('/sub')))).toEqual({ from: 'mc', to: 'mc', moved: 'c' });
      expect(timesChanged(fs, { to, moved: dir }, () => fs.renameSync(p('/sub'), p('/sub2')))).toEqual({ to: 'mc', moved: 'c' });
      for (const fd of [moved, replaced, dir]) fs.closeSync(fd);
    });

    test('writing changes mtime and ctime; an empty write changes nothing', () => {
      const { fs } = ctx;
      const file = p('/file.txt');
      const fd = fs.openSync(file, 'r+');
      expect(timesChanged(fs, { file, dir: p('/') }, () => fs.writeSync(fd, 'x'))).toEqual({ file: 'mc', dir: '' });
      expect(timesChanged(fs, { file }, () => fs.writeSync(fd, ''))).toEqual({ file: '' });
      fs.closeSync(fd);
    });

    test('truncate changes mtime and ctime, even to the same size (ext4); so does O_TRUNC', () => {
      const { fs } = ctx;
      const file = p('/file.txt');
      expect(timesChanged(fs, { file }, () => fs.truncateSync(file, 3))).toEqual({ file: 'mc' });
      expect(timesChanged(fs, { file }, () => fs.truncateSync(file, 3))).toEqual({ file: 'mc' });
      expect(timesChanged(fs, { file }, () => fs.closeSync(fs.openSync(file, 'w')))).toEqual({ file: 'mc' });
      expect(timesChanged(fs, { file }, () => fs.closeSync(fs.openSync(file, 'w')))).toEqual({ file: 'mc' });
      expect(timesChanged(fs, { file }, () => fs.closeSync(fs.openSync(file, 'a')))).toEqual({ file: '' });
    });

    test('chmod and utimes change ctime only; the parent keeps its times', () => {
      const { fs } = ctx;
      const [file, dir] = [p('/dir/b.txt'), p('/dir')];
      expect(timesChanged(fs, { file, dir }, () => fs.chmodSync(file, 0o600))).toEqual({ file: 'c', dir: '' });
      expect(timesChanged(fs, { file, dir }, () => fs.utimesSync(file, OLD + 1, OLD + 2))).toEqual({ file: 'amc', dir: '' });
      expect(timesChanged(fs, { dir }, () => fs.chmodSync(dir, 0o700))).toEqual({ dir: 'c' });
    });

    chownTest('chown changes ctime, also when it changes no id', () => {
      const { fs } = ctx;
      const file = p('/dir/b.txt');
      expect(timesChanged(fs, { file }, () => fs.chownSync(file, 1000, 1000))).toEqual({ file: 'c' });
      expect(timesChanged(fs, { file }, () => fs.chownSync(file, -1, -1))).toEqual({ file: 'c' });
    });

    atimeTest('reading a file or listing a directory moves an atime older than mtime (relatime)', () => {
      const { fs } = ctx;
      expect(timesChanged(fs, { file: p('/file.txt') }, () => fs.readFileSync(p('/file.txt')))).toEqual({ file: 'a' });
      expect(timesChanged(fs, { dir: p('/dir') }, () => fs.readdirSync(p('/dir')))).toEqual({ dir: 'a' });
    });
  });
}
