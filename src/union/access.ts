import { ErrnoError } from '../errno.js';

/**
 * Linux's discretionary access rules (generic_permission, may_delete, setattr_prepare), for a
 * front end that checks permissions itself: the in-memory fs created for a user. A FUSE mount
 * leaves them to the kernel (default_permissions).
 */

/** Who makes a call: user, primary group and supplementary groups. uid 0 is root. */
export interface Caller {
  uid: number;
  gid: number;
  groups?: readonly number[];
}

/** What the rules look at in an inode. */
export interface Owned {
  kind: string;
  mode: number;
  uid: number;
  gid: number;
}

export const ROOT: Caller = { uid: 0, gid: 0 };

// access(2)'s bits.
export const MAY_READ = 4;
export const MAY_WRITE = 2;
export const MAY_EXEC = 1;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;

export function inGroup(caller: Caller, gid: number): boolean {
  return caller.gid === gid || (caller.groups?.includes(gid) ?? false);
}

/**
 * Whether `caller` may read, write or execute (search, for a directory) `inode`. Root may read and
 * write anything and search any directory, but execute a file only if some execute bit is set.
 */
export function permits(inode: Owned, caller: Caller, want: number): boolean {
  if (caller.uid === 0) return (want & MAY_EXEC) === 0 || inode.kind === 'dir' || (inode.mode & 0o111) !== 0;
  const bits = caller.uid === inode.uid ? inode.mode >> 6 : inGroup(caller, inode.gid) ? inode.mode >> 3 : inode.mode;
  return (bits & want & 7) === want;
}

/** EACCES unless `caller` may do `want` to `inode`. */
export function checkPermission(inode: Owned, caller: Caller, want: number): void {
  if (!permits(inode, caller, want)) throw new ErrnoError('EACCES');
}

/**
 * Taking `victim` out of directory `dir` (unlink, rmdir, rename): write and search on the
 * directory (EACCES), and in a sticky directory only the owner of the victim or of the directory
 * may (EPERM), as /tmp works.
 */
export function checkRemove(dir: Owned, victim: Owned, caller: Caller): void {
  checkPermission(dir, caller, MAY_WRITE | MAY_EXEC);
  if (dir.mode & S_ISVTX && caller.uid !== 0 && caller.uid !== dir.uid && caller.uid !== victim.uid) throw new ErrnoError('EPERM');
}

/** chmod, utimes with explicit times: only the owner or root (EPERM). */
export function checkOwner(inode: Owned, caller: Caller): void {
  if (caller.uid !== 0 && caller.uid !== inode.uid) throw new ErrnoError('EPERM');
}

/**
 * The mode chmod sets: a caller outside the file's group who is not root cannot set setgid on it
 * (the bit is silently dropped, as Linux does).
 */
export function chmodMode(inode: Owned, caller: Caller, mode: number): number {
  if (caller.uid !== 0 && inode.kind !== 'dir' && !inGroup(caller, inode.gid)) return mode & ~S_ISGID;
  return mode;
}

/** chown: root may give anything; an owner may only change the group, to one of its own (EPERM). */
export function checkChown(inode: Owned, caller: Caller, uid: number, gid: number): void {
  if (caller.uid === 0) return;
  if (caller.uid !== inode.uid || (uid !== -1 && uid !== inode.uid) || (gid !== -1 && gid !== inode.gid && !inGroup(caller, gid))) throw new ErrnoError('EPERM');
}

/**
 * The mode after a write or truncate by `caller`: without root's CAP_FSETID it loses setuid, and
 * setgid when group execute makes it a set-id program or the caller is outside the file's group
 * (setattr_should_drop_sgid). Undefined when nothing changes.
 */
export function modeAfterWrite(inode: Owned, caller: Caller): number | undefined {
  if (caller.uid === 0 || inode.kind !== 'file') return undefined;
  const dropGid = inode.mode & S_IXGRP || !inGroup(caller, inode.gid);
  const kept = inode.mode & ~(S_ISUID | (dropGid ? S_ISGID : 0));
  return kept === inode.mode ? undefined : kept;
}
