import type { Content } from '../store/index.js';

/** Metadata every inode carries. Times are nanoseconds since the epoch. */
export interface Meta {
  /** Permission bits with setuid, setgid and sticky (0o7777); the file type is `kind`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atime: bigint;
  readonly mtime: bigint;
  readonly ctime: bigint;
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
}

export interface FileInode extends Meta {
  readonly kind: 'file';
  readonly content: Content;
}

export interface DirInode extends Meta {
  readonly kind: 'dir';
  /** Hides whatever lower layers hold at this path (overlayfs's opaque directory). */
  readonly opaque: boolean;
  /** Name to inode number; WHITEOUT hides the name in lower layers. */
  readonly children: ReadonlyMap<string, number>;
}

export interface SymlinkInode extends Meta {
  readonly kind: 'symlink';
  readonly target: string;
}

export interface DeviceInode extends Meta {
  readonly kind: 'chardev' | 'blockdev';
  readonly rdev: number;
}

export interface SpecialInode extends Meta {
  readonly kind: 'fifo' | 'socket';
}

export type Inode = FileInode | DirInode | SymlinkInode | DeviceInode | SpecialInode;
export type Kind = Inode['kind'];

/** The child number that marks a whiteout: whiteouts are data, not an inode of their own. */
export const WHITEOUT = 0;
/** Every layer's root directory is inode 1. */
export const ROOT = 1;

/** The S_IFMT bits of each kind, as stat reports them. */
export const TYPE_BITS: Readonly<Record<Kind, number>> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};

export const NO_XATTRS: ReadonlyMap<string, Uint8Array> = new Map();

export function defaultMeta(kind: Kind, time = 0n): Meta {
  const mode = kind === 'dir' ? 0o755 : kind === 'symlink' ? 0o777 : 0o644;
  return { mode, uid: 0, gid: 0, atime: time, mtime: time, ctime: time, xattrs: NO_XATTRS };
}

export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/** Why a name cannot be a directory entry, or undefined when it can. */
export function invalidName(name: string): string | undefined {
  if (name === '' ) return 'empty name';
  if (name === '.' || name === '..') return `reserved name ${JSON.stringify(name)}`;
  if (name.includes('/')) return `name contains '/': ${JSON.stringify(name)}`;
  if (name.includes('\0')) return `name contains NUL: ${JSON.stringify(name)}`;
  if (Buffer.byteLength(name) > NAME_MAX) return `name longer than ${NAME_MAX} bytes`;
  return undefined;
}
