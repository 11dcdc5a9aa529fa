import * as fs from 'node:fs';
import { ErrnoError } from '../errno.js';
import { type UnionView, checkNameLength, nowNs } from '../union/index.js';
import { type Listing, listing } from './kernel/listing.js';
import type { AttrChanges, Caller, DirEntry, NodeOps } from './kernel/node-ops.js';
import { RENAME_EXCHANGE, RENAME_NOREPLACE } from './kernel/protocol.js';
import { WriteBackings } from './write-backings.js';
import { tempPath } from '../durable-file.js';

export interface OpHooks {
  /** After a program's fsync: persist the container (its data must survive a crash). */
  onSync?: () => void;
  /**
   * Hash every chunk a program reads (the daemon reads every file): no backing files are handed
   * to the kernel, whose reads the store cannot check (docs/store-layout.md).
   */
  verifyReads?: boolean;
  /**
   * Where a store without scratch files of its own (MemoryBlobStore) keeps write backings:
   * with passthrough, a new file's writer writes it directly (see WriteBackings).
   */
  scratchDir?: string;
}

const S_IFMT = 0o170000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_IXGRP = 0o010;
/** File capabilities (setcap): dropped by any write, as Linux does. */
const CAPABILITY = 'security.capability';
const KINDS = new Map<number, 'file' | 'chardev' | 'blockdev' | 'fifo' | 'socket'>([
  [0o100000, 'file'],
  [0o020000, 'chardev'],
  [0o060000, 'blockdev'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
]);
/** Directory listings kept for a kernel reading them a buffer at a time. */
const LISTINGS_KEPT = 64;

/** What mknod(2) makes of a mode's type bits (EINVAL for a directory, symlink or nothing). */
export function mknodKind(mode: number): 'file' | 'chardev' | 'blockdev' | 'fifo' | 'socket' {
  const kind = KINDS.get(mode & S_IFMT);
  if (!kind) throw new ErrnoError('EINVAL');
  return kind;
}

/**
 * setxattr(2)'s flags as the view's. POSIX ACLs are refused: EOPNOTSUPP makes programs (cp -a,
 * tar) fall back to chmod, where accepting the xattr would silently lose the mode it carries.
 */
export function setxattrFlag(name: string, flags: number): 'create' | 'replace' | undefined {
  if (name.startsWith('system.posix_acl_')) throw new ErrnoError('ENOTSUP');
  return flags & 1 ? 'create' : flags & 2 ? 'replace' : undefined; // XATTR_CREATE, XATTR_REPLACE
}

/**
 * The kernel's inode operations over a union view. It only translates: inode numbers are the
 * view's own, names are (directory inode, name) places, and union rules stay in the
 * view. New inodes belong to the calling process's user (group of a setgid directory), as on
 * any Linux filesystem.
 */
export function unionNodeOps(view: UnionView, hooks: OpHooks = {}): NodeOps {
  const listings = new Map<number, { changes: number; list: Listing }>();
  const { store } = view;
  const scratchFile = store.scratchFile ? () => store.scratchFile!() : hooks.scratchDir ? () => tempPath(hooks.scratchDir!) : undefined;
  const backings = scratchFile && new WriteBackings(view, scratchFile);

  const stat = (ino: number) => (backings?.has(ino) ? backings.stat(ino) : view.stat(ino));

  /**
   * What Linux does to a file written, truncated or chowned by a caller without CAP_FSETID (the
   * kernel says when): setuid goes; setgid goes with group execute, and on a write or truncate
   * also when the caller is outside the file's group (setattr_should_drop_sgid).
   */
  const killPrivileges = (ino: number, caller: Caller, chown: boolean) => {
    const { mode, gid } = stat(ino);
    const dropGid = (mode & S_IXGRP) !== 0 || (!chown && (mode & S_ISGID) !== 0 && !inGroup(caller, gid));
    const kept = mode & ~S_ISUID & (dropGid ? ~S_ISGID : ~0);
    if (kept !== mode) view.chmod(ino, kept & 0o7777);
    if (view.xattrs(ino).has(CAPABILITY)) view.removexattr(ino, CAPABILITY);
  };

  return {
    lookup(parent, name) {
      // The kernel passes names up to 1024 bytes (FUSE_NAME_MAX): past NAME_MAX is ENAMETOOLONG.
      checkNameLength(name);
      const ino = view.lookup(parent, name);
      return ino === undefined ? undefined : stat(ino);
    },
    getattr: (node) => stat(node),
    setattr(ino, changes: AttrChanges) {
      if (changes.killPrivileges) killPrivileges(ino, changes.killPrivileges, changes.uid !== undefined || changes.gid !== undefined);
      if (changes.size !== undefined) {
        if (backings?.has(ino)) backings.truncate(ino, changes.size);
        else view.truncate(ino, changes.size);
      }
      if (changes.mode !== undefined) view.chmod(ino, changes.mode & 0o7777);
      if (changes.uid !== undefined || changes.gid !== undefined) view.chown(ino, changes.uid ?? -1, changes.gid ?? -1);
      // A SETATTR that changes no attribute is chown(-1, -1): Linux still moves ctime.
      const { mode, uid, gid, size, atime, mtime } = changes;
      if ([mode, uid, gid, size, atime, mtime].every((value) => value === undefined)) view.chown(ino, -1, -1);
      if (changes.atime !== undefined || changes.mtime !== undefined) {
        const current = stat(ino);
        const time = (value: bigint | 'now' | undefined, unchanged: bigint) => (value === 'now' ? nowNs() : (value ?? unchanged));
        view.utimes(ino, time(changes.atime, current.atime), time(changes.mtime, current.mtime));
        backings?.timesSet(ino);
      }
      return stat(ino);
    },
    readlink: (node) => view.readlink(node),
    mknod(parent, name, mode, rdev, caller) {
      const kind = mknodKind(mode);
      const path = { dir: parent, name };
      // New inodes belong to the caller (the view gives a setgid parent's group).
      return stat(kind === 'file' ? view.createFile(path, mode & 0o7777, caller) : view.mknod(path, kind, mode & 0o7777, rdev, caller));
    },
    mkdir: (parent, name, mode, caller) => stat(view.mkdir({ dir: parent, name }, mode & 0o7777, caller)),
    symlink: (parent, name, target, caller) => stat(view.symlink(target, { dir: parent, name }, caller)),
    link: (node, parent, name) => stat(view.linkInode(node, { dir: parent, name })),
    unlink: (parent, name) => view.unlink({ dir: parent, name }),
    rmdir: (parent, name) => view.rmdir({ dir: parent, name }),
    rename(parent, name, newParent, newName, flags) {
      if (flags & RENAME_EXCHANGE || flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new ErrnoError('EINVAL');
      if (flags & RENAME_NOREPLACE && view.lookup(newParent, newName) !== undefined) throw new ErrnoError('EEXIST');
      view.rename({ dir: parent, name }, { dir: newParent, name: newName });
    },
    create: (parent, name, mode, caller) => stat(view.createFile({ dir: parent, name }, mode & 0o7777, caller)),
    // The kernel's references keep an inode as an open file would: unlinked, it stays readable
    // through descriptors still open on it, and its changes are stored when it is let go.
    retain: (node) => view.open(node),
    forget(node) {
      // Released by now, unless the mount went away with the file open.
      backings?.release(node);
      view.close(node);
    },
    readReady(node, position, length) {
      const content = view.store.ready && view.storedContent(node);
      if (!content || length === 0 || position >= content.size) return undefined;
      const first = Math.floor(position / content.chunkSize);
      const last = Math.floor((Math.min(position + length, content.size) - 1) / content.chunkSize);
      const digests = content.chunks.slice(first, last + 1).filter((digest) => digest !== null);
      return view.store.ready!(digests);
    },
    read: (node, position, length, target, offset) => (backings?.has(node) ? backings.read(node, position, length, target, offset) : view.read(node, position, length, target, offset)),
    backing(node) {
      if (hooks.verifyReads) return undefined;
      // Unchanged since it came from a layer, and whole in one file (of the store, or a lower directory).
      return view.backingFile(node);
    },
    writeBacking: backings && ((node) => backings.pathOf(node)),
    releaseWriteBacking: backings && ((node) => backings.release(node)),
    write(node, position, bytes, kill) {
      if (kill) killPrivileges(node, kill, false);
      // Any write drops file capabilities, also root's (the kernel leaves it to us: KILLPRIV_V2).
      else if (view.xattrs(node).has(CAPABILITY)) view.removexattr(node, CAPABILITY);
      return backings?.has(node) ? backings.write(node, position, bytes) : view.write(node, position, bytes);
    },
    fsync(node) {
      backings?.takeIn(node);
      view.flush();
      hooks.onSync?.();
    },
    entries(node) {
      // Cached while the view is unchanged: the kernel reads a listing a buffer at a time.
      const cached = listings.get(node);
      // Files being written directly change with no change to the view.
      if (cached?.changes === view.changeCount && !backings?.active) return cached.list;
      const self = stat(node);
      if (self.kind !== 'dir') throw new ErrnoError('ENOTDIR');
      const entries: DirEntry[] = [
        { name: '.', ino: node, mode: self.mode },
        { name: '..', ino: node, mode: self.mode },
      ];
      for (const entry of view.readdir(node)) {
        const attr = stat(entry.ino);
        entries.push({ name: entry.name, ino: entry.ino, mode: attr.mode, attr });
      }
      const list = listing(entries);
      listings.delete(node);
      listings.set(node, { changes: view.changeCount, list });
      if (listings.size > LISTINGS_KEPT) listings.delete(listings.keys().next().value!);
      return list;
    },
    getxattr: (node, name) => view.xattrs(node).get(name),
    listxattr: (node) => [...view.xattrs(node).keys()],
    setxattr: (node, name, value, flags) => view.setxattr(node, name, value, setxattrFlag(name, flags)),
    removexattr: (node, name) => view.removexattr(node, name),
    statfs: () => view.statfs(),
    access: (node) => void stat(node),
    observe: (listener) => view.observe((change) => listener(change.dir === undefined ? { node: change.ino } : { parent: change.dir, name: change.name })),
  };
}

/** Whether a caller is in a group: its own, or one of its process's supplementary groups. */
function inGroup(caller: Caller, gid: number): boolean {
  if (caller.gid === gid) return true;
  try {
    const groups = /^Groups:(.*)$/m.exec(fs.readFileSync(`/proc/${caller.pid}/status`, 'utf8'))?.[1] ?? '';
    return groups.split(/\s+/).some((group) => group !== '' && Number(group) === gid);
  } catch {
    return false; // the process is gone: no group of its can matter
  }
}
