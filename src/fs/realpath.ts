import { posix } from 'node:path';
import { type Caller, type Resolved, type UnionView, resolve } from '../union/index.js';
import { edge } from './errors.js';

/**
 * The canonical path of an absolute path inside the view: no symlink, no `.` or `..`, rooted at
 * the container's root (an absolute link target starts again there, never on the host).
 *
 * It walks the way Node's fs.realpathSync does (lib/fs.js): the path is first normalized
 * lexically (`/link/..` is `/` wherever the link points), then taken one name at a time; a
 * missing name fails as `lstat` of the real path walked so far, and a link that leads nowhere as
 * `stat` of the link itself (so the limit of 40 links holds per link, not for the whole path, as
 * with Node's one stat per link). The core's resolve does the walking and names where a link leads;
 * with a `caller`, it checks search permission on the way (EACCES, as lstat would).
 */
export function realpathIn(view: UnionView, path: string, caller?: Caller): string {
  let real = '';
  for (const name of posix.normalize(path).split('/')) {
    if (name === '') continue;
    const here = `${real}/${name}`;
    if (view.kindOf(walkAs(view, here, 'lstat', caller).ino) !== 'symlink') real = here;
    else real = walkAs(view, here, 'stat', caller).names.map((part) => `/${part}`).join('');
  }
  return real || '/';
}

/** resolve, its error stamped as Node's realpath stamps it. */
function walkAs(view: UnionView, path: string, syscall: 'lstat' | 'stat', caller: Caller | undefined): Resolved {
  try {
    return resolve(view, path, { follow: syscall === 'stat', caller });
  } catch (error) {
    throw edge(error, syscall, path);
  }
}
