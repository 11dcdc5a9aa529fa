import { type Errno, ErrnoError } from '../errno.js';
import { NAME_MAX, PATH_MAX } from '../layer/index.js';
import { type Caller, MAY_EXEC, type Owned, permits } from './access.js';
import { ROOT_INO } from './image.js';

/** The few questions path resolution asks of a view. */
export interface Resolvable {
  lookup(dir: number, name: string): number | undefined;
  kindOf(ino: number): string;
  readlink(ino: number): string;
  owned(ino: number): Owned;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component (stat, open) or not (lstat, unlink). */
  follow: boolean;
  /** Check search permission on every directory walked for this caller (EACCES); root skips it. */
  caller?: Caller;
}

export interface Resolved {
  ino: number;
  /** The directories walked to reach it, root first: a rename checks them for cycles. */
  ancestors: number[];
  /** The names from the root to it: its canonical path (no symlink, `.` or `..`), as realpath answers. */
  names: string[];
}

export interface ParentOptions extends ResolveOptions {
  /** The answer when the last name is '.' or '..' (each call has Linux's own: EEXIST for mkdir). */
  dot?: Errno;
}

/**
 * A name in a directory given by its inode, as FUSE names it: the kernel has walked the path
 * already, so PATH_MAX limits the path a program gave, never the directory's depth in the view.
 */
export interface Place {
  dir: number;
  name: string;
}

export interface ResolvedParent {
  dir: number;
  name: string;
  ancestors: number[];
  /** The path (or the symlink it led through) ended in '/': it can only name a directory. */
  trailingSlash: boolean;
}

// Linux's limit on symlinks followed in one resolution (MAXSYMLINKS).
const MAX_LINKS = 40;

/** ENAMETOOLONG for a name longer than NAME_MAX bytes (Linux counts bytes, not characters). */
export function checkNameLength(name: string, path?: string): void {
  if (name.length > NAME_MAX / 3 && Buffer.byteLength(name) > NAME_MAX) throw new ErrnoError('ENAMETOOLONG', { path });
}

function namesOf(path: string): string[] {
  if (path.includes('\0')) throw new ErrnoError('EINVAL', { path, detail: 'path contains NUL' });
  if (Buffer.byteLength(path) >= PATH_MAX) throw new ErrnoError('ENAMETOOLONG', { path });
  // '.' stays: like '..', it requires the entry before it to be a directory ("file/." is ENOTDIR).
  return path.split('/').filter((name) => name !== '');
}

/**
 * Walks a path from the container's root. Symlinks resolve inside the root: an absolute target
 * starts again at the root, and `..` at the root stays there, so nothing ever leaves the container.
 * `..` climbs the directories actually walked (POSIX physical resolution).
 */
export function resolve(view: Resolvable, path: string, options: ResolveOptions): Resolved {
  const walked = walk(view, path, options);
  if (typeof walked === 'string') throw new ErrnoError(walked, { path });
  return walked;
}

/**
 * resolve, answering the errno code instead of throwing it: a lookup that misses is common (every
 * file a program creates is looked up first) and an Error's stack trace costs more than the walk.
 */
export function walk(view: Resolvable, path: string, options: ResolveOptions): Resolved | Errno {
  const pending = namesOf(path);
  const mustBeDir = path.endsWith('/');
  const stack = [ROOT_INO];
  const names: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    const dir = stack[stack.length - 1]!;
    if (view.kindOf(dir) !== 'dir') return 'ENOTDIR';
    if (name === '.') continue;
    if (name === '..') {
      if (stack.length > 1) {
        stack.pop();
        names.pop();
      }
      continue;
    }
    if (name.length > NAME_MAX / 3 && Buffer.byteLength(name) > NAME_MAX) return 'ENAMETOOLONG';
    if (options.caller && options.caller.uid !== 0 && !permits(view.owned(dir), options.caller, MAY_EXEC)) return 'EACCES';
    const child = view.lookup(dir, name);
    if (child === undefined) return 'ENOENT';
    const last = pending.length === 0;
    if (view.kindOf(child) === 'symlink' && (!last || options.follow || mustBeDir)) {
      if (++links > MAX_LINKS) return 'ELOOP';
      const target = view.readlink(child);
      if (target.startsWith('/')) {
        stack.length = 1;
        names.length = 0;
      }
      pending.unshift(...namesOf(target));
      continue;
    }
    stack.push(child);
    names.push(name);
  }
  const ino = stack.pop()!;
  if (mustBeDir && view.kindOf(ino) !== 'dir') return 'ENOTDIR';
  return { ino, ancestors: stack, names };
}

/**
 * The directory that holds (or would hold) the last name of a path, and that name. With `follow`,
 * a symlink in the last place is followed to where it points, even when its target does not exist
 * yet (as open(O_CREAT) creates a dangling symlink's target).
 */
export function resolveParent(view: Resolvable, given: string | Place, options: ParentOptions = { follow: false }): ResolvedParent {
  if (typeof given !== 'string') return placeParent(view, given, options);
  let path = given;
  for (let links = 0; ; links++) {
    const names = namesOf(path);
    const name = names.pop();
    if (name === undefined) throw new ErrnoError('EBUSY', { path: given, detail: 'the root has no parent' });
    if (name === '.' || name === '..') {
      // "dir/." names a directory through itself: no operation may create, remove or move it.
      // Errors of the path itself (ENOENT, ENOTDIR) come first, as Linux reports them.
      resolve(view, path, { follow: true });
      throw new ErrnoError(options.dot ?? 'EINVAL', { path: given });
    }
    checkNameLength(name, given);
    const parent = resolve(view, `/${names.join('/')}`, { follow: true, caller: options.caller });
    if (view.kindOf(parent.ino) !== 'dir') throw new ErrnoError('ENOTDIR', { path: given });
    if (options.caller && options.caller.uid !== 0 && !permits(view.owned(parent.ino), options.caller, MAY_EXEC)) throw new ErrnoError('EACCES', { path: given });
    const resolved = { dir: parent.ino, name, ancestors: [...parent.ancestors, parent.ino], trailingSlash: path.endsWith('/') };
    if (!options.follow) return resolved;
    const child = view.lookup(parent.ino, name);
    if (child === undefined || view.kindOf(child) !== 'symlink') return resolved;
    if (links >= MAX_LINKS) throw new ErrnoError('ELOOP', { path: given });
    const target = view.readlink(child);
    path = target.startsWith('/') ? target : `/${names.join('/')}/${target}`;
  }
}

/** A Place as resolveParent answers it: its directory must be one, its name a name. */
function placeParent(view: Resolvable, { dir, name }: Place, options: ParentOptions): ResolvedParent {
  if (view.kindOf(dir) !== 'dir') throw new ErrnoError('ENOTDIR');
  if (name === '.' || name === '..') throw new ErrnoError(options.dot ?? 'EINVAL');
  if (name === '' || name.includes('/')) throw new ErrnoError('EINVAL');
  checkNameLength(name);
  // The kernel checked what a rename may not do to the directories above (a loop).
  return { dir, name, ancestors: [], trailingSlash: false };
}
