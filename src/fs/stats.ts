import type { Kind } from '../layer/index.js';
import type { InodeStat, Space } from '../union/index.js';
import { constants } from './constants.js';

/**
 * fs.Stats, fs.BigIntStats and fs.Dirent over the core's InodeStat. Times are kept in
 * nanoseconds; the millisecond fields follow Node's formula (sec * 1e3 + nsec / 1e6), so they
 * agree with Node's own Stats to the last digit. Dates are made on first use. There is no birth
 * time in a layer: birthtime is ctime, as libuv reports it where statx is missing.
 */

const { S_IFMT, S_IFREG, S_IFDIR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFLNK, S_IFSOCK } = constants;
const NS_PER_SEC = 1_000_000_000n;

function msOf(ns: bigint): number {
  return Number(ns / NS_PER_SEC) * 1e3 + Number(ns % NS_PER_SEC) / 1e6;
}

abstract class StatsBase<T extends number | bigint> {
  abstract mode: T;

  private typeIs(type: number): boolean {
    return (Number(this.mode) & S_IFMT) === type;
  }

  isFile(): boolean {
    return this.typeIs(S_IFREG);
  }
  isDirectory(): boolean {
    return this.typeIs(S_IFDIR);
  }
  isBlockDevice(): boolean {
    return this.typeIs(S_IFBLK);
  }
  isCharacterDevice(): boolean {
    return this.typeIs(S_IFCHR);
  }
  isSymbolicLink(): boolean {
    return this.typeIs(S_IFLNK);
  }
  isFIFO(): boolean {
    return this.typeIs(S_IFIFO);
  }
  isSocket(): boolean {
    return this.typeIs(S_IFSOCK);
  }
}

export class Stats extends StatsBase<number> {
  dev: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  #dates: Date[] | undefined;

  constructor(stat: InodeStat, dev: number) {
    super();
    this.dev = dev;
    this.mode = stat.mode;
    this.nlink = stat.nlink;
    this.uid = stat.uid;
    this.gid = stat.gid;
    this.rdev = stat.rdev;
    this.blksize = 4096;
    this.ino = stat.ino;
    this.size = stat.size;
    this.blocks = stat.blocks;
    this.atimeMs = msOf(stat.atime);
    this.mtimeMs = msOf(stat.mtime);
    this.ctimeMs = msOf(stat.ctime);
    this.birthtimeMs = this.ctimeMs;
  }

  private date(index: number): Date {
    this.#dates ??= [this.atimeMs, this.mtimeMs, this.ctimeMs, this.birthtimeMs].map((ms) => new Date(ms));
    return this.#dates[index]!;
  }
  get atime(): Date {
    return this.date(0);
  }
  get mtime(): Date {
    return this.date(1);
  }
  get ctime(): Date {
    return this.date(2);
  }
  get birthtime(): Date {
    return this.date(3);
  }
}

export class BigIntStats extends StatsBase<bigint> {
  dev: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  blksize: bigint;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(stat: InodeStat, dev: number) {
    super();
    this.dev = BigInt(dev);
    this.mode = BigInt(stat.mode);
    this.nlink = BigInt(stat.nlink);
    this.uid = BigInt(stat.uid);
    this.gid = BigInt(stat.gid);
    this.rdev = BigInt(stat.rdev);
    this.blksize = 4096n;
    this.ino = BigInt(stat.ino);
    this.size = BigInt(stat.size);
    this.blocks = BigInt(stat.blocks);
    this.atimeNs = stat.atime;
    this.mtimeNs = stat.mtime;
    this.ctimeNs = stat.ctime;
    this.birthtimeNs = stat.ctime;
    this.atimeMs = stat.atime / 1_000_000n;
    this.mtimeMs = stat.mtime / 1_000_000n;
    this.ctimeMs = stat.ctime / 1_000_000n;
    this.birthtimeMs = this.ctimeMs;
    this.atime = new Date(Number(this.atimeMs));
    this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs));
    this.birthtime = new Date(Number(this.birthtimeMs));
  }
}

/** The Stats a missing file reports to watchFile listeners: everything zero. */
export function zeroStats(): Stats {
  return new Stats({ ino: 0, kind: 'file', mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, size: 0, blocks: 0, atime: 0n, mtime: 0n, ctime: 0n }, 0);
}

const DIRENT_TYPE: Readonly<Record<Kind, number>> = {
  file: constants.UV_DIRENT_FILE,
  dir: constants.UV_DIRENT_DIR,
  symlink: constants.UV_DIRENT_LINK,
  fifo: constants.UV_DIRENT_FIFO,
  socket: constants.UV_DIRENT_SOCKET,
  chardev: constants.UV_DIRENT_CHAR,
  blockdev: constants.UV_DIRENT_BLOCK,
};

/** A directory entry as readdir({ withFileTypes }) and Dir give it. */
export class Dirent<Name extends string | Buffer = string> {
  name: Name;
  parentPath: string;
  /** Deprecated alias of parentPath, still set by Node 20. */
  path: string;
  readonly #type: number;

  constructor(name: Name, kind: Kind, parentPath: string) {
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.#type = DIRENT_TYPE[kind];
  }

  isFile(): boolean {
    return this.#type === constants.UV_DIRENT_FILE;
  }
  isDirectory(): boolean {
    return this.#type === constants.UV_DIRENT_DIR;
  }
  isSymbolicLink(): boolean {
    return this.#type === constants.UV_DIRENT_LINK;
  }
  isFIFO(): boolean {
    return this.#type === constants.UV_DIRENT_FIFO;
  }
  isSocket(): boolean {
    return this.#type === constants.UV_DIRENT_SOCKET;
  }
  isCharacterDevice(): boolean {
    return this.#type === constants.UV_DIRENT_CHAR;
  }
  isBlockDevice(): boolean {
    return this.#type === constants.UV_DIRENT_BLOCK;
  }
}

/** FUSE_SUPER_MAGIC: what statfs gives on a layerfs mount, so both front ends report one type. */
const LAYERFS_TYPE = 0x65735546;

/** What statfs answers (Node's StatFs): block and inode counts of the filesystem. */
export class StatFs<T extends number | bigint = number> {
  type: T;
  bsize: T;
  blocks: T;
  bfree: T;
  bavail: T;
  files: T;
  ffree: T;

  constructor(space: Space, bigint: boolean) {
    const value = (n: number) => (bigint ? BigInt(n) : n) as T;
    this.type = value(LAYERFS_TYPE);
    this.bsize = value(space.bsize);
    this.blocks = value(space.blocks);
    this.bfree = value(space.bfree);
    this.bavail = value(space.bavail);
    this.files = value(space.files);
    this.ffree = value(space.ffree);
  }
}
