import type { Space } from '../../union/index.js';
import type { Listing } from './listing.js';
import type { Attr } from './protocol.js';

/** Who asked: the calling process's ids, which new inodes are owned by. */
export interface Caller {
  uid: number;
  gid: number;
  /** The calling process (its supplementary groups are in /proc). */
  pid: number;
}

/** A SETATTR: only the fields present change; times in nanoseconds, 'now' for the current time. */
export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: bigint | 'now';
  mtime?: bigint | 'now';
  /** Drop setuid, setgid and file capabilities as a truncate or chown by this caller does on Linux. */
  killPrivileges?: Caller;
}

/** A change made behind the kernel's back: an inode, or what a name in a directory stands for. */
export type NodeChange = { node: number; parent?: undefined; name?: undefined } | { node?: undefined; parent: number; name: string };

export interface DirEntry {
  name: string;
  ino: number;
  /** st_mode: the entry's type is all readdir needs of it. */
  mode: number;
  /** All its attributes, which readdirplus hands the kernel with the name; absent: it looks up. */
  attr?: Attr;
}

/**
 * A filesystem as the kernel sees it: inodes by number (1 is the root). Files and directories
 * are used by inode: opening one costs no request (the kernel's zero-message open), and an inode lives while the kernel holds it (retain to forget), which is
 * what keeps an unlinked file readable through the descriptors still open on it. Failures throw
 * ErrnoError; anything else is answered as EIO and logged. Every call is synchronous: the
 * session answers each request as it reads it, except a READ that readReady says must wait.
 */
export interface NodeOps {
  /** The inode a name stands for, or undefined (ENOENT, cacheable by the kernel). */
  lookup(parent: number, name: string): Attr | undefined;
  getattr(node: number): Attr;
  setattr(node: number, changes: AttrChanges): Attr;
  readlink(node: number): string;
  mknod(parent: number, name: string, mode: number, rdev: number, caller: Caller): Attr;
  mkdir(parent: number, name: string, mode: number, caller: Caller): Attr;
  symlink(parent: number, name: string, target: string, caller: Caller): Attr;
  link(node: number, parent: number, name: string): Attr;
  unlink(parent: number, name: string): void;
  rmdir(parent: number, name: string): void;
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): void;
  create(parent: number, name: string, mode: number, caller: Caller): Attr;
  /** The kernel took its first reference to an inode (a lookup, a create, a readdirplus entry). */
  retain(node: number): void;
  /** The kernel let go of its last reference. */
  forget(node: number): void;
  /**
   * Optional: undefined when read() of this range can answer at once; else a promise that
   * settles when it can (its bytes are being fetched: a lazily pulled image). The session serves
   * other requests meanwhile and answers this READ then.
   */
  readReady?(node: number, position: number, length: number): Promise<void> | undefined;
  /** Reads into `target` at `offset`: the bytes read. */
  read(node: number, position: number, length: number, target: Buffer, offset: number): number;
  /** `killPrivileges`: the writer, who may not keep setuid and setgid (see AttrChanges). */
  write(node: number, position: number, bytes: Buffer, killPrivileges: Caller | undefined): number;
  /** fsync of a file or a directory: what a program wrote must survive a crash. */
  fsync(node: number): void;
  /** The entries of a directory, `.` and `..` included, in offset order (see listing()). */
  entries(node: number): Listing;
  getxattr(node: number, name: string): Uint8Array | undefined;
  listxattr(node: number): string[];
  setxattr(node: number, name: string, value: Uint8Array, flags: number): void;
  removexattr(node: number, name: string): void;
  /** statfs(2) of the filesystem holding `node` (undefined: it cannot tell, made-up sizes go out). */
  statfs?(node: number): Space | undefined;
  /** Whether the inode exists (permissions are the kernel's: default_permissions). */
  access(node: number): void;
  /**
   * A file of the host holding exactly this file's bytes at their offsets, for the kernel to read
   * directly (FUSE passthrough; it is never written through), or undefined: served by read().
   */
  backing?(node: number): string | undefined;
  /**
   * A private host file the kernel may read and write this file's bytes in directly (FUSE
   * passthrough), made when a writer opens an empty file, or undefined: writes come to write().
   * Until releaseWriteBacking, the file's bytes are that file's: its size and times show in the
   * attributes, a truncate or utimes applies to it, and fsync takes its bytes into the container.
   */
  writeBacking?(node: number): string | undefined;
  /** The kernel closed the last file open on the write backing: its bytes go into the container. */
  releaseWriteBacking?(node: number): void;
  /** Calls `listener` after every change, whoever made it; returns the function that stops it. */
  observe(listener: (change: NodeChange) => void): () => void;
}
