/**
 * The FUSE kernel protocol (linux/fuse.h, version 7.31, 7.40 with passthrough) as far as layerfs speaks it: opcodes,
 * init flags and the layouts of the structures it reads and writes. Little-endian, as on every
 * machine Linux runs FUSE on.
 */

export const KERNEL_MAJOR = 7;
/** The minor version we implement; the kernel adapts its structures to it. */
export const KERNEL_MINOR = 31;
/** The minor version of a connection with passthrough (7.40: backing files, FOPEN_PASSTHROUGH). */
export const PASSTHROUGH_MINOR = 40;

export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  READDIRPLUS: 44,
  RENAME2: 45,
} as const;

/** Opcode names, for logs and request counts. */
export const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([name, code]) => [code, name.toLowerCase()]));

/** Requests the kernel sends without waiting for an answer. */
export const NO_REPLY = new Set<number>([Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT]);

export const Init = {
  ASYNC_READ: 1 << 0,
  ATOMIC_O_TRUNC: 1 << 3,
  BIG_WRITES: 1 << 5,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  WRITEBACK_CACHE: 1 << 16,
  PARALLEL_DIROPS: 1 << 18,
  POSIX_ACL: 1 << 20,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  HANDLE_KILLPRIV_V2: 1 << 28,
  /** The flags go on in flags2 (bits 32 and up). */
  INIT_EXT: 1 << 30,
} as const;

/** Init flags 32 and up, as fuse_init_in/out.flags2 carries them. */
export const Init2 = {
  DIRECT_IO_ALLOW_MMAP: 1 << (36 - 32),
  PASSTHROUGH: 1 << (37 - 32),
} as const;

/** fuse_setattr_in.valid: which fields a SETATTR carries. */
export const SetattrValid = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  KILL_SUIDGID: 1 << 11,
} as const;

/** fuse_write_in.write_flags: the writer may not keep setuid and setgid (HANDLE_KILLPRIV_V2). */
export const WRITE_KILL_SUIDGID = 1 << 2;

/** fuse_open_out.open_flags. */
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_PASSTHROUGH = 1 << 7;
/** fuse_getattr_in.getattr_flags: the request names an open file. */
export const GETATTR_FH = 1;
/** rename2's flags (renameat2(2)). */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

export const NOTIFY_INVAL_INODE = 2;
export const NOTIFY_INVAL_ENTRY = 3;

export const IN_HEADER = 40;
export const OUT_HEADER = 16;
export const ATTR_SIZE = 88;
export const ENTRY_OUT = 40 + ATTR_SIZE;
export const ATTR_OUT = 16 + ATTR_SIZE;
export const OPEN_OUT = 16;
export const INIT_OUT = 64;
export const STATFS_OUT = 80;
export const DIRENT = 24;

/** The largest write (and read) we take: with MAX_PAGES, 256 pages. */
export const MAX_WRITE = 1024 * 1024;
/** Room for a request: the largest write plus its headers. */
export const REQUEST_BUFFER = MAX_WRITE + 4096;

/** What the kernel needs of an inode: stat's fields, times in nanoseconds since the epoch. */
export interface Attr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blocks: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

export function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

const BILLION = 1_000_000_000n;

/** A time as FUSE's seconds and nanoseconds fields (which need not be adjacent). */
function setTime(view: DataView, secondsAt: number, nanosAt: number, ns: bigint): void {
  let seconds = ns / BILLION;
  let nanos = ns % BILLION;
  if (nanos < 0n) {
    nanos += BILLION;
    seconds -= 1n;
  }
  view.setBigInt64(secondsAt, seconds, true);
  view.setUint32(nanosAt, Number(nanos), true);
}

/** struct fuse_attr. */
export function setAttr(view: DataView, at: number, attr: Attr): void {
  setU64(view, at, attr.ino);
  setU64(view, at + 8, attr.size);
  setU64(view, at + 16, attr.blocks);
  setTime(view, at + 24, at + 48, attr.atime);
  setTime(view, at + 32, at + 52, attr.mtime);
  setTime(view, at + 40, at + 56, attr.ctime);
  view.setUint32(at + 60, attr.mode, true);
  view.setUint32(at + 64, attr.nlink, true);
  view.setUint32(at + 68, attr.uid, true);
  view.setUint32(at + 72, attr.gid, true);
  view.setUint32(at + 76, attr.rdev >>> 0, true);
  view.setUint32(at + 80, 4096, true);
  view.setUint32(at + 84, 0, true);
}

/** A timeout in seconds as FUSE's seconds and nanoseconds fields. */
export function setTimeout(view: DataView, secondsAt: number, nanosAt: number, seconds: number): void {
  setU64(view, secondsAt, Math.floor(seconds));
  view.setUint32(nanosAt, Math.round((seconds % 1) * 1e9), true);
}

/** struct fuse_entry_out; no attr means a negative entry the kernel may cache for `timeout`. */
export function setEntry(view: DataView, at: number, attr: Attr | undefined, timeout: number): void {
  setU64(view, at, attr?.ino ?? 0);
  setU64(view, at + 8, 0); // generation: inode numbers are never reused
  setTimeout(view, at + 16, at + 32, timeout);
  setTimeout(view, at + 24, at + 36, timeout);
  if (attr) setAttr(view, at + 40, attr);
  else new Uint8Array(view.buffer, view.byteOffset + at + 40, ATTR_SIZE).fill(0);
}

/** DT_* of a mode, for directory entries. */
export function direntType(mode: number): number {
  return (mode >>> 12) & 0o17;
}

/** The size of a directory entry with a name of `nameBytes`, padded to 8. */
export function direntSize(nameBytes: number, plus: boolean): number {
  return (((plus ? ENTRY_OUT : 0) + DIRENT + nameBytes + 7) & ~7) >>> 0;
}
