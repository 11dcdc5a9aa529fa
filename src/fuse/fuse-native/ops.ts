import { ErrnoError, errnoNumber } from '../../errno.js';
import { type UnionView, nowNs } from '../../union/index.js';
import { HandleTable } from '../handles.js';
import { mknodKind, setxattrFlag } from '../union-ops.js';

type Reply = (result: number, ...values: unknown[]) => void;

export interface OpHooks {
  /** After a program's fsync: persist the container (its data must survive a crash). */
  onSync?: () => void;
  /** Something that is not an ErrnoError went wrong: a bug, answered as EIO. */
  onError?: (error: unknown, op: string, path: string) => void;
}

const ENODATA = -errnoNumber('ENODATA');

/** A union has no fixed capacity: it reports a large, mostly free volume so programs write. */
export const STATFS = { bsize: 4096, frsize: 4096, blocks: 2 ** 31, bfree: 2 ** 30, bavail: 2 ** 30, files: 2 ** 31, ffree: 2 ** 30, favail: 2 ** 30, fsid: 0x6c667300, flag: 0, namemax: 255 };

// UTIME_NOW and UTIME_OMIT as native/fuse-native/build.mjs passes them (milliseconds otherwise).
const UTIME_NOW = 2 ** 52 - 1;
const UTIME_OMIT = 2 ** 52 - 2;

/** A time utimensat(2) asked for, in nanoseconds: now, unchanged, or the milliseconds given. */
function utimeNs(ms: number, current: bigint): bigint {
  if (ms === UTIME_NOW) return nowNs();
  if (ms === UTIME_OMIT) return current;
  return BigInt(Math.round(ms * 1e6));
}

/** The answer FUSE expects for an error: a negative errno. */
export function errnoOf(error: unknown): number {
  // Anything else, a store fault (BlobError) among them, must never pass as success: EIO.
  return error instanceof ErrnoError ? error.errno : -errnoNumber('EIO');
}

/**
 * The fuse-native operation table of a union view. It only translates: paths to inodes, FUSE's
 * arguments to the view's, errors to negative errno. Union rules live in the view. Paths are
 * never followed at the last component: the kernel resolves symlinks itself.
 */
export function unionOps(view: UnionView, hooks: OpHooks = {}) {
  const handles = new HandleTable();
  const at = (path: string) => view.resolve(path, { follow: false });
  const byHandle = (fd: number) => {
    const ino = handles.ino(fd);
    if (ino === undefined) throw new ErrnoError('EBADF');
    return ino;
  };
  /** Answers an error: its errno; anything but an ErrnoError is logged first. */
  const fail = (op: string, path: string, reply: Reply, error: unknown) => {
    if (!(error instanceof ErrnoError)) hooks.onError?.(error, op, path);
    return reply(errnoOf(error));
  };
  /** Runs an op; the reply gets 0 and the values, or the negative errno. */
  const run = (op: string, path: string, reply: Reply, work: () => unknown[] | void) => {
    let values: unknown[] | void;
    try {
      values = work();
    } catch (error) {
      return fail(op, path, reply, error);
    }
    return reply(0, ...(values ?? []));
  };
  /** Read and write answer with a byte count, or a negative errno. */
  const count = (op: string, path: string, reply: Reply, work: () => number) => {
    try {
      return reply(work());
    } catch (error) {
      return fail(op, path, reply, error);
    }
  };
  const attributes = (ino: number) => {
    const stat = view.stat(ino);
    return {
      mode: stat.mode,
      uid: stat.uid,
      gid: stat.gid,
      size: stat.size,
      nlink: stat.nlink,
      ino: stat.ino,
      rdev: stat.rdev,
      blocks: stat.blocks,
      blksize: 4096,
      atime: Number(stat.atime / 1_000_000n),
      mtime: Number(stat.mtime / 1_000_000n),
      ctime: Number(stat.ctime / 1_000_000n),
    };
  };
  /** fsync of a file or a directory: store dirty chunks, then persist the container. */
  const sync = () => {
    view.flush();
    hooks.onSync?.();
  };
  const openInode = (ino: number) => {
    view.open(ino);
    return handles.open(ino);
  };

  return {
    handles,
    getattr: (path: string, reply: Reply) => {
      // The kernel looks up every name a program creates before it exists: answer that miss
      // without building an error.
      const ino = view.find(path, { follow: false });
      if (typeof ino === 'string') return reply(-errnoNumber(ino));
      return run('getattr', path, reply, () => [attributes(ino)]);
    },
    fgetattr: (path: string, fd: number, reply: Reply) => run('fgetattr', path, reply, () => [attributes(byHandle(fd))]),
    access: (path: string, _mode: number, reply: Reply) => run('access', path, reply, () => void at(path)),
    readdir: (path: string, reply: Reply) => run('readdir', path, reply, () => [['.', '..', ...view.readdir(at(path)).map((entry) => entry.name)]]),
    readlink: (path: string, reply: Reply) => run('readlink', path, reply, () => [view.readlink(at(path))]),
    open: (path: string, _flags: number, reply: Reply) => run('open', path, reply, () => [openInode(at(path))]),
    create: (path: string, mode: number, reply: Reply) => run('create', path, reply, () => [openInode(view.createFile(path, mode & 0o7777))]),
    release: (path: string, fd: number, reply: Reply) =>
      run('release', path, reply, () => {
        const ino = handles.close(fd);
        if (ino !== undefined) view.close(ino);
      }),
    read: (path: string, fd: number, buffer: Buffer, length: number, position: number, reply: Reply) =>
      count('read', path, reply, () => view.read(byHandle(fd), position, length, buffer)),
    write: (path: string, fd: number, buffer: Buffer, length: number, position: number, reply: Reply) =>
      count('write', path, reply, () => view.write(byHandle(fd), position, buffer.subarray(0, length))),
    truncate: (path: string, size: number, reply: Reply) => run('truncate', path, reply, () => view.truncate(at(path), size)),
    ftruncate: (path: string, fd: number, size: number, reply: Reply) => run('ftruncate', path, reply, () => view.truncate(byHandle(fd), size)),
    // No flush: close(2) has nothing to hand over (release stores the data), and without the op
    // libfuse answers ENOSYS once, after which the kernel stops sending FLUSH on every close, as
    // fuse-overlayfs has it. That is one request fewer per file a program opens (bench/fuse).
    fsync: (path: string, _datasync: number, _fd: number, reply: Reply) => run('fsync', path, reply, sync),
    fsyncdir: (path: string, _datasync: number, _fd: number, reply: Reply) => run('fsyncdir', path, reply, sync),
    mkdir: (path: string, mode: number, reply: Reply) => run('mkdir', path, reply, () => void view.mkdir(path, mode & 0o7777)),
    rmdir: (path: string, reply: Reply) => run('rmdir', path, reply, () => view.rmdir(path)),
    unlink: (path: string, reply: Reply) => run('unlink', path, reply, () => view.unlink(path)),
    rename: (from: string, to: string, reply: Reply) => run('rename', from, reply, () => view.rename(from, to)),
    link: (existing: string, path: string, reply: Reply) => run('link', path, reply, () => void view.link(existing, path)),
    symlink: (target: string, path: string, reply: Reply) => run('symlink', path, reply, () => void view.symlink(target, path)),
    mknod: (path: string, mode: number, rdev: number, reply: Reply) =>
      run('mknod', path, reply, () => {
        const kind = mknodKind(mode);
        if (kind === 'file') view.createFile(path, mode & 0o7777);
        else view.mknod(path, kind, mode & 0o7777, rdev);
      }),
    chmod: (path: string, mode: number, reply: Reply) => run('chmod', path, reply, () => view.chmod(at(path), mode & 0o7777)),
    chown: (path: string, uid: number, gid: number, reply: Reply) =>
      // FUSE passes -1 ("leave unchanged") as an unsigned 32-bit number.
      run('chown', path, reply, () => view.chown(at(path), uid === 0xffffffff ? -1 : uid, gid === 0xffffffff ? -1 : gid)),
    utimens: (path: string, atime: number, mtime: number, reply: Reply) =>
      run('utimens', path, reply, () => {
        const ino = at(path);
        const stat = view.stat(ino);
        view.utimes(ino, utimeNs(atime, stat.atime), utimeNs(mtime, stat.mtime));
      }),
    setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, reply: Reply) =>
      run('setxattr', path, reply, () => {
        view.setxattr(at(path), name, Uint8Array.prototype.slice.call(value), setxattrFlag(name, flags));
      }),
    getxattr: (path: string, name: string, _position: number, reply: Reply) => {
      let value: Uint8Array | undefined;
      try {
        value = view.xattrs(at(path)).get(name);
      } catch (error) {
        return fail('getxattr', path, reply, error);
      }
      // The kernel asks for security.capability before every write to a file; a missing name is
      // the usual answer, so it is not built as an ErrnoError (a stack trace per write).
      return value === undefined ? reply(ENODATA) : reply(0, Buffer.from(value));
    },
    listxattr: (path: string, reply: Reply) => run('listxattr', path, reply, () => [[...view.xattrs(at(path)).keys()]]),
    removexattr: (path: string, name: string, reply: Reply) => run('removexattr', path, reply, () => view.removexattr(at(path), name)),
    statfs: (_path: string, reply: Reply) => reply(0, STATFS),
  };
}
