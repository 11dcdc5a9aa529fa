import { ErrnoError, isErrno } from '../errno.js';
import {
  encode,
  readArgs,
  toData,
  toFd,
  toFlags,
  toInt,
  toLength,
  toMode,
  toOptions,
  toPath,
  toPosition,
  toBufferSource,
  toTimeNs,
  writeArgs,
} from './args.js';
import { access } from '../union/index.js';
import { FsBase } from './base.js';
import { constants } from './constants.js';
import { edge, fail, invalidArgType } from './errors.js';
import type { OpenFile } from './fd-table.js';
import type { BigIntStats, Stats } from './stats.js';

const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, COPYFILE_EXCL } = constants;
const O_ACCMODE = 3;

/**
 * Operations on open files: open(2) with its flags, reads and writes at a position or at the
 * file offset, the f* calls, and the whole-file helpers built on them (readFile, writeFile,
 * appendFile, copyFile). Every method is Node's sync form; callbacks.ts and promises.ts wrap them.
 */
const { MAY_READ, MAY_WRITE } = access;

export class FileFs extends FsBase {
  openSync(path: unknown, flags?: unknown, mode?: unknown): number {
    const p = toPath(path);
    const f = toFlags(flags);
    const m = toMode(mode, 'mode', 0o666);
    try {
      return this.fds.add(this.openFile(p, f, m));
    } catch (error) {
      throw edge(error, 'open', p);
    }
  }

  /** open(2): errors in Linux's order, creation with the umask, O_TRUNC after the checks. */
  protected openFile(path: string, flags: number, mode: number): OpenFile {
    const full = this.abs(path);
    const accessMode = flags & O_ACCMODE;
    const writable = accessMode === O_WRONLY || accessMode === O_RDWR;
    let ino: number | undefined;
    // open("name/", O_CREAT) names a directory, which open cannot create: EISDIR whatever is there.
    if (flags & O_CREAT && full.endsWith('/')) throw new ErrnoError('EISDIR');
    if (flags & O_CREAT && flags & O_EXCL) {
      // O_EXCL: the name itself must be new, even a dangling symlink counts as existing.
      if (this.view.exists(full, { follow: false, caller: this.checked })) throw new ErrnoError('EEXIST');
    }
    try {
      ino = this.view.resolve(full, { follow: !(flags & O_NOFOLLOW), caller: this.checked });
    } catch (error) {
      if (!isErrno(error, 'ENOENT') || !(flags & O_CREAT)) throw error;
    }
    if (ino === undefined) {
      this.checkCreate(full, true);
      ino = this.view.createFile(full, mode & ~this.umask, this.caller);
      this.changed('rename', full);
    } else {
      const kind = this.view.kindOf(ino);
      if (kind === 'symlink') throw new ErrnoError('ELOOP');
      if (flags & O_DIRECTORY && kind !== 'dir') throw new ErrnoError('ENOTDIR');
      if (kind === 'dir' && (writable || flags & O_CREAT)) throw new ErrnoError('EISDIR');
      if (writable && this.readOnly) throw new ErrnoError('EROFS');
      this.checkInode(ino, (accessMode !== O_WRONLY ? MAY_READ : 0) | (writable || flags & O_TRUNC ? MAY_WRITE : 0));
      if (flags & O_TRUNC && writable && kind === 'file') {
        this.view.truncate(ino, 0);
        this.dropSetIds(ino);
        this.changed('change', full);
      }
    }
    this.view.open(ino);
    return { ino, flags, readable: accessMode !== O_WRONLY, writable, append: (flags & O_APPEND) !== 0, position: 0, path: full };
  }

  closeSync(fd: unknown): void {
    const file = this.fds.remove(toFd(fd), 'close');
    try {
      this.view.close(file.ino);
    } catch (error) {
      throw edge(error, 'close');
    }
  }

  readSync(fd: unknown, ...rest: unknown[]): number {
    const n = toFd(fd);
    const [buffer, offset, length, position] = readArgs(rest, true);
    const file = this.fds.get(n, 'read');
    if (!file.readable) throw fail('EBADF', 'read');
    if (length === 0) return 0;
    try {
      return this.readAt(file, toBufferSource(buffer, 'buffer'), offset, length, position);
    } catch (error) {
      throw edge(error, 'read');
    }
  }

  protected readAt(file: OpenFile, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const read = this.view.read(file.ino, position ?? file.position, length, buffer, offset);
    if (position === null) file.position += read;
    return read;
  }

  writeSync(fd: unknown, ...rest: unknown[]): number {
    const n = toFd(fd);
    const [bytes, position] = writeArgs(rest);
    const file = this.fds.get(n, 'write');
    if (!file.writable) throw fail('EBADF', 'write');
    try {
      return this.writeAt(file, bytes, position);
    } catch (error) {
      throw edge(error, 'write');
    }
  }

  protected writeAt(file: OpenFile, bytes: Uint8Array, position: number | null): number {
    const at = file.append ? this.view.stat(file.ino).size : (position ?? file.position);
    if (bytes.length > 0) {
      this.view.write(file.ino, at, bytes);
      this.dropSetIds(file.ino);
      this.changed('change', file.path);
    }
    if (position === null || file.append) file.position = at + bytes.length;
    return bytes.length;
  }

  readvSync(fd: unknown, buffers: unknown, position?: unknown): number {
    const n = toFd(fd);
    const list = toBufferList(buffers);
    let at = toPosition(position);
    const file = this.fds.get(n, 'read');
    if (!file.readable) throw fail('EBADF', 'read');
    let total = 0;
    try {
      for (const buffer of list) {
        const read = this.readAt(file, buffer, 0, buffer.byteLength, at);
        total += read;
        if (at !== null) at += read;
        if (read < buffer.byteLength) break;
      }
    } catch (error) {
      throw edge(error, 'read');
    }
    return total;
  }

  writevSync(fd: unknown, buffers: unknown, position?: unknown): number {
    const n = toFd(fd);
    const list = toBufferList(buffers);
    let at = toPosition(position);
    const file = this.fds.get(n, 'write');
    if (!file.writable) throw fail('EBADF', 'write');
    let total = 0;
    try {
      for (const buffer of list) {
        total += this.writeAt(file, buffer, at);
        if (at !== null) at += buffer.byteLength;
      }
    } catch (error) {
      throw edge(error, 'write');
    }
    return total;
  }

  fstatSync(fd: unknown, options?: { bigint?: boolean }): Stats | BigIntStats {
    const file = this.fds.get(toFd(fd), 'fstat');
    return this.statsOf(file.ino, options?.bigint === true);
  }

  ftruncateSync(fd: unknown, len?: unknown): void {
    const n = toFd(fd);
    const size = Math.max(0, toLength(len, 'len'));
    const file = this.fds.get(n, 'ftruncate');
    if (!file.writable) throw fail('EINVAL', 'ftruncate');
    try {
      this.view.truncate(file.ino, size);
      this.dropSetIds(file.ino);
    } catch (error) {
      throw edge(error, 'ftruncate');
    }
    this.changed('change', file.path);
  }

  fchmodSync(fd: unknown, mode: unknown): void {
    const n = toFd(fd);
    const bits = toMode(mode, 'mode', undefined);
    this.onFd(n, 'fchmod', (file) => this.chmodInode(file.ino, bits));
  }

  fchownSync(fd: unknown, uid: unknown, gid: unknown): void {
    const n = toFd(fd);
    const [u, g] = [toInt(uid, 'uid', -1, 0xffffffff), toInt(gid, 'gid', -1, 0xffffffff)];
    this.onFd(n, 'fchown', (file) => this.chownInode(file.ino, u, g));
  }

  futimesSync(fd: unknown, atime: unknown, mtime: unknown): void {
    const n = toFd(fd);
    const [a, m] = [toTimeNs(atime), toTimeNs(mtime)];
    this.onFd(n, 'futime', (file) => this.utimesInode(file.ino, a, m));
  }

  fsyncSync(fd: unknown): void {
    this.onFd(toFd(fd), 'fsync', () => this.view.flush(), false);
  }

  fdatasyncSync(fd: unknown): void {
    this.onFd(toFd(fd), 'fdatasync', () => this.view.flush(), false);
  }

  private onFd(fd: number, syscall: string, action: (file: OpenFile) => void, changes = true): void {
    const file = this.fds.get(fd, syscall);
    try {
      action(file);
    } catch (error) {
      throw edge(error, syscall);
    }
    if (changes) this.changed('change', file.path);
  }

  // ---- whole files -----------------------------------------------------------------------------

  readFileSync(path: unknown, options?: unknown): string | Buffer {
    const { encoding, flag } = toOptions(options, { flag: 'r' as unknown });
    if (typeof path === 'number') return encode(this.readRest(this.fds.get(toFd(path), 'read')), encoding);
    const p = toPath(path);
    const flags = toFlags(flag);
    if ((flags & (O_ACCMODE | O_CREAT | O_TRUNC | O_NOFOLLOW | O_DIRECTORY)) === 0) {
      // The usual case needs no file descriptor: resolve, then read the whole inode.
      let ino: number;
      try {
        ino = this.inoOf(p);
        this.checkInode(ino, MAY_READ);
      } catch (error) {
        throw edge(error, 'open', p);
      }
      try {
        const size = this.view.stat(ino).size;
        const buffer = Buffer.allocUnsafe(size);
        return encode(buffer.subarray(0, this.view.read(ino, 0, size, buffer)), encoding);
      } catch (error) {
        throw edge(error, 'read');
      }
    }
    const fd = this.openSync(p, flags);
    try {
      return encode(this.readRest(this.fds.get(fd, 'read')), encoding);
    } finally {
      this.closeSync(fd);
    }
  }

  /** The bytes from the file offset to the end (readFile of an fd). */
  private readRest(file: OpenFile): Buffer {
    if (!file.readable) throw fail('EBADF', 'read');
    try {
      const size = Math.max(0, this.view.stat(file.ino).size - file.position);
      const buffer = Buffer.allocUnsafe(size);
      return buffer.subarray(0, this.readAt(file, buffer, 0, size, null));
    } catch (error) {
      throw edge(error, 'read');
    }
  }

  writeFileSync(path: unknown, data: unknown, options?: unknown): void {
    const { encoding, mode, flag } = toOptions(options, { encoding: 'utf8', mode: 0o666 as unknown, flag: 'w' as unknown });
    const bytes = toData(data, encoding);
    if (typeof path === 'number') {
      this.writeAll(this.fds.get(toFd(path), 'write'), bytes);
      return;
    }
    const fd = this.openSync(path, flag, mode);
    try {
      this.writeAll(this.fds.get(fd, 'write'), bytes);
    } finally {
      this.closeSync(fd);
    }
  }

  private writeAll(file: OpenFile, bytes: Uint8Array): void {
    if (!file.writable) throw fail('EBADF', 'write');
    try {
      this.writeAt(file, bytes, null);
    } catch (error) {
      throw edge(error, 'write');
    }
  }

  appendFileSync(path: unknown, data: unknown, options?: unknown): void {
    const given = toOptions(options, { encoding: 'utf8', mode: 0o666 as unknown, flag: 'a' as unknown });
    this.writeFileSync(path, data, given);
  }

  /**
   * copy_file_range without the bytes: the destination shares the source's chunks (clone), so a
   * copy of a 1 GiB lower file stores nothing. Like libuv, the destination takes the source's mode.
   */
  copyFileSync(src: unknown, dest: unknown, mode?: unknown): void {
    const from = toPath(src, 'src');
    const to = toPath(dest, 'dest');
    const flags = mode === undefined ? 0 : toInt(mode, 'mode', 0, 7);
    try {
      const source = this.inoOf(from);
      const kind = this.view.kindOf(source);
      this.checkInode(source, MAY_READ);
      if (kind === 'dir') throw new ErrnoError('EISDIR');
      const full = this.abs(to);
      // libuv opens the destination with O_CREAT: a name with a trailing slash is EISDIR.
      if (full.endsWith('/')) throw new ErrnoError('EISDIR');
      const caller = this.checked;
      if (flags & COPYFILE_EXCL && this.view.exists(full, { follow: false, caller })) throw new ErrnoError('EEXIST');
      const bits = this.view.stat(source).mode & 0o7777;
      let target: number;
      if (this.view.exists(full, { follow: true, caller })) {
        target = this.view.resolve(full, { follow: true, caller });
        if (this.view.kindOf(target) === 'dir') throw new ErrnoError('EISDIR');
        if (target === source) return;
        this.checkInode(target, MAY_WRITE);
      } else {
        this.checkCreate(full, true);
        target = this.view.createFile(full, bits, this.caller);
        this.changed('rename', full);
      }
      this.view.clone(source, target);
      this.view.chmod(target, bits);
      this.changed('change', full);
    } catch (error) {
      throw edge(error, 'copyfile', from, to);
    }
  }

  // ---- attribute changes, checked for a user's fs ------------------------------------------------

  protected chmodInode(ino: number, mode: number): void {
    this.checkOwner(ino);
    this.view.chmod(ino, this.checked ? access.chmodMode(this.view.owned(ino), this.checked, mode) : mode);
  }

  protected chownInode(ino: number, uid: number, gid: number): void {
    if (this.checked) access.checkChown(this.view.owned(ino), this.checked, uid, gid);
    this.view.chown(ino, uid, gid);
  }

  protected utimesInode(ino: number, atime: bigint, mtime: bigint): void {
    this.checkOwner(ino);
    this.view.utimes(ino, atime, mtime);
  }

  // ---- by path, through the inode --------------------------------------------------------------

  truncateSync(path: unknown, len?: unknown): void {
    if (typeof path === 'number') return this.ftruncateSync(path, len);
    const fd = this.openSync(path, 'r+');
    try {
      this.ftruncateSync(fd, len);
    } finally {
      this.closeSync(fd);
    }
  }
}

function toBufferList(value: unknown): Uint8Array[] {
  if (!Array.isArray(value) || !value.every((item) => ArrayBuffer.isView(item))) {
    throw invalidArgType('buffers', 'an instance of ArrayBufferView[]', value);
  }
  return value.map((item: ArrayBufferView) => new Uint8Array(item.buffer, item.byteOffset, item.byteLength));
}
