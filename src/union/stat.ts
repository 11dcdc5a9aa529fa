import type { Kind } from '../layer/index.js';

/** What stat reports of an inode of a union view; times in nanoseconds since the epoch. */
export interface InodeStat {
  ino: number;
  kind: Kind;
  /** Type and permission bits, as st_mode. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** 512-byte blocks holding data: holes take none. */
  blocks: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

export interface DirEntryInfo {
  name: string;
  ino: number;
  kind: Kind;
}
