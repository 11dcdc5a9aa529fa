import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { ErrnoError, isErrno } from '../errno.js';
import { access, resolveParent } from '../union/index.js';
import {
  encodeName,
  toBoolean,
  toInt,
  toMode,
  toOptions,
  toPath,
  toTimeNs,
} from './args.js';
import { constants } from './constants.js';
import { Dir } from './dir.js';
import { edge } from './errors.js';
import { realpathIn } from './realpath.js';
import { type BigIntStats, Dirent, StatFs, type Stats } from './stats.js';
import { type CpOptions, type RmOptions, cpSync, rmSync } from './tree.js';
import { XattrFs } from './xattr.js';

const { F_OK, W_OK } = constants;

export interface StatOptions {
  bigint?: boolean;
  throwIfNoEntry?: boolean;
}


export type { XattrOptions } from './xattr.js';

/**
 * The sync core of the Node fs surface over a union view: every call is Node's sync form
 * (`statSync`, `renameSync`, ...), parses its arguments like Node, translates to the view's
 * path or inode operations, and stamps the syscall and the caller's paths on core errors. It
 * never decides a union rule itself (copy-up, whiteouts, rename), the view does.
 *
 * This file holds the operations by path; files.ts those on open files, xattr.ts the extended
 * attributes.
 */
export class LayerFs extends XattrFs {
  // ---- looking -----------------------------------------------------------------------------------

  existsSync(path: unknown): boolean {
    // Node's existsSync answers false for anything that fails, bad arguments included.
    try {
      return this.view.exists(this.abs(toPath(path)), { follow: true, caller: this.checked });
    } catch {
      return false;
    }
  }

  accessSync(path: unknown, mode?: unknown): void {
    const p = toPath(path);
    const wanted = mode === undefined || mode === null ? F_OK : toInt(mode, 'mode', 0, 7);
    try {
      const ino = this.inoOf(p);
      // The fs acts as root (it owns every file it creates as uid 0): reading and writing are
      // always allowed, executing needs an x bit somewhere, writing a read-only view is EROFS.
      if (wanted & W_OK && this.readOnly) throw new ErrnoError('EROFS');
      // R_OK, W_OK, X_OK are access(2)'s MAY_* bits: root passes all but X_OK without an x bit.
      access.checkPermission(this.view.owned(ino), this.caller, wanted);
    } catch (error) {
      throw edge(error, 'access', p);
    }
  }

  statSync(path: unknown, options?: StatOptions): Stats | BigIntStats | undefined {
    return this.statPath(path, options, true, 'stat');
  }

  lstatSync(path: unknown, options?: StatOptions): Stats | BigIntStats | undefined {
    return this.statPath(path, options, false, 'lstat');
  }

  private statPath(path: unknown, options: StatOptions | undefined, follow: boolean, syscall: string): Stats | BigIntStats | undefined {
    const p = toPath(path);
    let ino: number;
    try {
      ino = this.inoOf(p, follow);
    } catch (error) {
      if (options?.throwIfNoEntry === false && isErrno(error, 'ENOENT')) return undefined;
      throw edge(error, syscall, p);
    }
    return this.statsOf(ino, options?.bigint === true);
  }

  /** statfs(2): the space where the view's blobs live (see UnionView.statfs), as Node's StatFs. */
  statfsSync(path: unknown, options?: { bigint?: boolean }): StatFs<number> | StatFs<bigint> {
    const p = toPath(path);
    try {
      this.inoOf(p);
    } catch (error) {
      throw edge(error, 'statfs', p);
    }
    const space = this.view.statfs();
    return options?.bigint === true ? new StatFs<bigint>(space, true) : new StatFs<number>(space, false);
  }

  readdirSync(path: unknown, options?: unknown): (string | Buffer | Dirent<string | Buffer>)[] {
    const p = toPath(path);
    const { encoding, withFileTypes, recursive } = toOptions(options, { withFileTypes: false as unknown, recursive: false as unknown });
    const typed = toBoolean(withFileTypes, 'options.withFileTypes', false);
    const out: (string | Buffer | Dirent<string | Buffer>)[] = [];
    // Breadth first, as Node's recursive readdir lists: a directory's entries, then each subdirectory's.
    const queue: { ino: number; prefix: string; parentPath: string }[] = [];
    try {
      queue.push({ ino: this.inoOf(p), prefix: '', parentPath: p });
      for (let next = 0; next < queue.length; next++) {
        const { ino, prefix, parentPath } = queue[next]!;
        this.checkInode(ino, access.MAY_READ);
        for (const entry of this.view.readdir(ino)) {
          const relative = prefix + entry.name;
          out.push(typed ? new Dirent(encodeName(entry.name, encoding), entry.kind, parentPath) : encodeName(relative, encoding));
          if (recursive === true && entry.kind === 'dir') queue.push({ ino: entry.ino, prefix: `${relative}/`, parentPath: posix.join(parentPath, entry.name) });
        }
      }
    } catch (error) {
      throw edge(error, 'scandir', p);
    }
    return out;
  }

  opendirSync(path: unknown, options?: { encoding?: BufferEncoding; bufferSize?: number; recursive?: boolean }): Dir {
    const p = toPath(path);
    let entries: Dirent<string | Buffer>[];
    try {
      entries = this.readdirSync(p, { withFileTypes: true, recursive: options?.recursive === true, encoding: options?.encoding }) as Dirent[];
    } catch (error) {
      // Node's opendir names no path in its errors.
      if (error instanceof ErrnoError) error.path = undefined;
      throw edge(error, 'opendir');
    }
    return new Dir(p, entries);
  }

  readlinkSync(path: unknown, options?: unknown): string | Buffer {
    const p = toPath(path);
    const { encoding } = toOptions(options, {});
    try {
      return encodeName(this.view.readlink(this.inoOf(p, false)), encoding);
    } catch (error) {
      throw edge(error, 'readlink', p);
    }
  }

  /** The canonical path inside the container (never a host path), as fs.realpathSync walks it. */
  realpathSync(path: unknown, options?: unknown): string | Buffer {
    const p = toPath(path);
    const { encoding } = toOptions(options, {});
    let full: string;
    try {
      full = this.abs(p);
    } catch (error) {
      throw edge(error, 'lstat', p);
    }
    // realpathIn stamps its own errors (lstat of the part walked, stat of a link), as Node's do.
    return encodeName(realpathIn(this.view, full, this.checked), encoding);
  }

  // ---- names -------------------------------------------------------------------------------------

  mkdirSync(path: unknown, options?: unknown): string | undefined {
    const p = toPath(path);
    const given = typeof options === 'number' || typeof options === 'string' ? { mode: options } : ((options ?? {}) as { mode?: unknown; recursive?: unknown });
    const recursive = toBoolean(given.recursive, 'options.recursive', false);
    const mode = toMode(given.mode, 'mode', 0o777) & ~this.umask;
    try {
      if (recursive) return this.mkdirp(p, mode);
      const full = this.abs(p);
      this.checkCreate(full);
      this.view.mkdir(full, mode, this.caller);
      this.changed('rename', full);
      return undefined;
    } catch (error) {
      throw edge(error, 'mkdir', p);
    }
  }

  /** mkdir -p: answers the first directory it made, spelled as the caller spelled the path. */
  private mkdirp(path: string, mode: number): string | undefined {
    const names = this.abs(path).split('/').filter((name) => name !== '');
    const spelled = path.split('/').filter((name) => name !== '');
    let first: string | undefined;
    for (let depth = 1; depth <= names.length; depth++) {
      const prefix = `/${names.slice(0, depth).join('/')}`;
      let ino: number | undefined;
      try {
        ino = this.view.resolve(prefix, { follow: true, caller: this.checked });
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
      if (ino !== undefined) {
        if (this.view.kindOf(ino) !== 'dir') throw new ErrnoError(depth === names.length ? 'EEXIST' : 'ENOTDIR');
        continue;
      }
      // A dangling symlink in the way: Node's mkdir -p finds the name taken but nothing behind it.
      if (this.view.exists(prefix, { follow: false })) throw new ErrnoError('ENOENT');
      this.checkCreate(prefix);
      this.view.mkdir(prefix, mode, this.caller);
      this.changed('rename', prefix);
      if (first === undefined) {
        const own = spelled.slice(0, spelled.length - (names.length - depth)).join('/');
        first = path.startsWith('/') ? `/${own}` : own;
      }
    }
    return first;
  }

  mkdtempSync(prefix: unknown, options?: unknown): string | Buffer {
    const p = toPath(prefix, 'prefix');
    const { encoding } = toOptions(options, {});
    for (;;) {
      const name = p + randomName();
      try {
        const full = this.abs(name);
        this.checkCreate(full);
        this.view.mkdir(full, 0o700 & ~this.umask, this.caller);
        this.changed('rename', full);
        return encodeName(name, encoding);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw edge(error, 'mkdtemp', `${p}XXXXXX`);
      }
    }
  }

  rmdirSync(path: unknown, options?: { recursive?: boolean }): void {
    const p = toPath(path);
    if (options?.recursive === true) return this.rmSync(p, { recursive: true });
    const full = this.abs(p);
    try {
      // rmdir("d/.") is EINVAL and rmdir("d/..") ENOTEMPTY on Linux; the core would remove d.
      const last = p.split('/').filter((name) => name !== '').pop();
      if (last === '.') throw new ErrnoError('EINVAL');
      if (last === '..') throw new ErrnoError('ENOTEMPTY');
      this.checkRemove(full);
      this.view.rmdir(full);
    } catch (error) {
      throw edge(error, 'rmdir', p);
    }
    this.changed('rename', full);
  }

  rmSync(path: unknown, options?: RmOptions): void {
    rmSync(this, toPath(path), options);
  }

  unlinkSync(path: unknown): void {
    const p = toPath(path);
    const full = this.abs(p);
    try {
      // "f/" names a directory: ENOTDIR for a file, EISDIR for a directory, as Linux answers.
      if (full.endsWith('/')) {
        this.view.resolve(full, { follow: false, caller: this.checked });
        throw new ErrnoError('EISDIR');
      }
      this.checkRemove(full);
      this.view.unlink(full);
    } catch (error) {
      throw edge(error, 'unlink', p);
    }
    this.changed('rename', full);
  }

  renameSync(oldPath: unknown, newPath: unknown): void {
    const from = toPath(oldPath, 'oldPath');
    const to = toPath(newPath, 'newPath');
    const [source, target] = [this.abs(from), this.abs(to)];
    try {
      // A trailing slash on either name says "directory": renaming anything else is ENOTDIR.
      if ((source.endsWith('/') || target.endsWith('/')) && this.view.kindOf(this.view.resolve(source.replace(/\/+$/, '') || '/', { follow: false })) !== 'dir') {
        throw new ErrnoError('ENOTDIR');
      }
      this.checkRename(source, target);
      this.view.rename(source, target);
    } catch (error) {
      throw edge(error, 'rename', from, to);
    }
    this.changed('rename', source);
    this.changed('rename', target);
  }

  linkSync(existingPath: unknown, newPath: unknown): void {
    const from = toPath(existingPath, 'existingPath');
    const to = toPath(newPath, 'newPath');
    try {
      this.refuseNewNameWithSlash(this.abs(to));
      this.checkLink(this.abs(from), this.abs(to));
      this.view.link(this.abs(from), this.abs(to));
    } catch (error) {
      throw edge(error, 'link', from, to);
    }
    this.changed('rename', this.abs(to));
    this.changed('change', this.abs(from));
  }

  symlinkSync(target: unknown, path: unknown, _type?: unknown): void {
    const t = toPath(target, 'target');
    const p = toPath(path);
    try {
      this.refuseNewNameWithSlash(this.abs(p));
      this.checkCreate(this.abs(p));
      this.view.symlink(t, this.abs(p), this.caller);
    } catch (error) {
      throw edge(error, 'symlink', t, p);
    }
    this.changed('rename', this.abs(p));
  }

  /**
   * rename's permissions: taking the source name away, making (or replacing) the target name, and
   * write access to a directory that moves to another parent (its ".." changes).
   */
  private checkRename(source: string, target: string): void {
    if (!this.checked) return;
    this.checkRemove(source);
    const into = resolveParent(this.view, target, { follow: false, caller: this.checked });
    if (this.view.lookup(into.dir, into.name) === undefined) this.checkCreate(target);
    else this.checkRemove(target);
    const from = resolveParent(this.view, source, { follow: false, caller: this.checked });
    const moved = this.view.lookup(from.dir, from.name);
    if (moved !== undefined && from.dir !== into.dir && this.view.kindOf(moved) === 'dir') this.checkInode(moved, access.MAY_WRITE);
  }

  /**
   * link's permissions: making the new name, and (fs.protected_hardlinks, on by default) a file
   * the caller neither owns nor may read and write cannot be linked (EPERM).
   */
  private checkLink(existing: string, created: string): void {
    if (!this.checked) return;
    const ino = this.view.resolve(existing, { follow: false, caller: this.checked });
    this.checkCreate(created);
    const owned = this.view.owned(ino);
    if (owned.uid !== this.checked.uid && !access.permits(owned, this.checked, access.MAY_READ | access.MAY_WRITE)) throw new ErrnoError('EPERM');
  }

  /** "name/" can only be a directory: link and symlink cannot make one there (ENOENT on Linux). */
  private refuseNewNameWithSlash(full: string): void {
    if (full.endsWith('/') && !this.view.exists(full.replace(/\/+$/, '') || '/', { follow: false })) throw new ErrnoError('ENOENT');
  }

  cpSync(src: unknown, dest: unknown, options?: CpOptions): void {
    cpSync(this, toPath(src, 'src'), toPath(dest, 'dest'), options);
  }

  // ---- metadata ----------------------------------------------------------------------------------

  chmodSync(path: unknown, mode: unknown): void {
    this.onPath(path, 'chmod', true, (ino) => this.chmodInode(ino, toMode(mode, 'mode', undefined)));
  }

  /** chmod of a symlink itself: Linux has no lchmod, but a layer keeps a link's mode bits. */
  lchmodSync(path: unknown, mode: unknown): void {
    this.onPath(path, 'lchmod', false, (ino) => this.chmodInode(ino, toMode(mode, 'mode', undefined)));
  }

  chownSync(path: unknown, uid: unknown, gid: unknown): void {
    const [u, g] = [toInt(uid, 'uid', -1, 0xffffffff), toInt(gid, 'gid', -1, 0xffffffff)];
    this.onPath(path, 'chown', true, (ino) => this.chownInode(ino, u, g));
  }

  lchownSync(path: unknown, uid: unknown, gid: unknown): void {
    const [u, g] = [toInt(uid, 'uid', -1, 0xffffffff), toInt(gid, 'gid', -1, 0xffffffff)];
    this.onPath(path, 'lchown', false, (ino) => this.chownInode(ino, u, g));
  }

  utimesSync(path: unknown, atime: unknown, mtime: unknown): void {
    const [a, m] = [toTimeNs(atime), toTimeNs(mtime)];
    this.onPath(path, 'utime', true, (ino) => this.utimesInode(ino, a, m));
  }

  lutimesSync(path: unknown, atime: unknown, mtime: unknown): void {
    const [a, m] = [toTimeNs(atime), toTimeNs(mtime)];
    this.onPath(path, 'lutime', false, (ino) => this.utimesInode(ino, a, m));
  }

  // ---- working directory -------------------------------------------------------------------------

  chdir(path: unknown): void {
    const p = toPath(path, 'directory');
    try {
      const ino = this.inoOf(p);
      if (this.view.kindOf(ino) !== 'dir') throw new ErrnoError('ENOTDIR');
      this.checkInode(ino, access.MAY_EXEC);
      this.cwdPath = realpathIn(this.view, this.abs(p), this.checked);
    } catch (error) {
      throw edge(error, 'chdir', p);
    }
  }

  cwd(): string {
    return this.cwdPath;
  }
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Six random characters, as mkdtemp(3) puts in place of XXXXXX. */
function randomName(): string {
  let name = '';
  for (const byte of randomBytes(6)) name += NAME_CHARS[byte % NAME_CHARS.length];
  return name;
}
