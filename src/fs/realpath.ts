import { posix } from 'node:path';
import { ErrnoError } from '../errno.js';
import { ROOT_INO, type UnionView } from '../union/index.js';
import { edge } from './errors.js';

// Linux's limit on symlinks followed in one resolution (MAXSYMLINKS), as the core uses.
const MAX_LINKS = 40;

/**
 * The canonical path of an absolute path inside the view: no symlink, no `.` or `..`, rooted at
 * the container's root (an absolute link target starts again there, never on the host).
 *
 * It walks the way Node's fs.realpathSync does (lib/fs.js): the path is first normalized
 * lexically, each link target is resolved against the real directory holding the link, a
 * missing component fails as `lstat` of the path walked so far, and a link that leads nowhere
 * fails as `stat` of the link itself. Names come from the walk, so the core's resolve (which
 * answers inode numbers) is asked only whether a link leads somewhere.
 */
export function realpathIn(view: UnionView, path: string): string {
  const done: { name: string; ino: number }[] = [];
  const pending = namesOf(posix.normalize(path));
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const parent = done.length === 0 ? ROOT_INO : done[done.length - 1]!.ino;
    const here = `${pathOf(done)}/${name}`;
    let ino: number | undefined;
    try {
      if (view.kindOf(parent) !== 'dir') throw new ErrnoError('ENOTDIR');
      ino = view.lookup(parent, name);
      if (ino === undefined) throw new ErrnoError('ENOENT');
    } catch (error) {
      throw edge(error, 'lstat', here);
    }
    if (view.kindOf(ino) !== 'symlink') {
      done.push({ name, ino });
      continue;
    }
    try {
      if (++links > MAX_LINKS) throw new ErrnoError('ELOOP');
      view.resolve(here, { follow: true });
    } catch (error) {
      throw edge(error, 'stat', here);
    }
    const target = view.readlink(ino);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...namesOf(target));
  }
  return pathOf(done) || '/';
}

function namesOf(path: string): string[] {
  return path.split('/').filter((name) => name !== '' && name !== '.');
}

function pathOf(done: readonly { name: string }[]): string {
  let path = '';
  for (const { name } of done) path += `/${name}`;
  return path;
}
