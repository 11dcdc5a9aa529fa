import { ErrnoError } from '../errno.js';
import { type UnionView, nowNs } from '../union/index.js';
import { type Listing, listing } from './kernel/listing.js';
import type { AttrChanges, Caller, DirEntry, NodeOps } from './kernel/node-ops.js';
import { RENAME_EXCHANGE, RENAME_NOREPLACE } from './kernel/protocol.js';

export interface OpHooks {
  /** After a program's fsync: persist the container (its data must survive a crash). */
  onSync?: () => void;
  /**
   * Hash every chunk a program reads (the daemon reads every file): no backing files are handed
   * to the kernel, whose reads the store cannot check (docs/store-layout.md).
   */
  verifyReads?: boolean;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_ISGID = 0o2000;
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
 * Where the kernel's directories are: the view changes names by path, the kernel names a
 * directory by inode. A directory has one name, so its parent and name are remembered when the
 * kernel learns of it (lookup, mkdir, readdirplus), moved with renames and dropped when the kernel
 * forgets it.
 */
class DirectoryPaths {
  private readonly places = new Map<number, { parent: number; name: string }>();

  constructor(private readonly view: UnionView) {}

  remember(ino: number, mode: number, parent: number, name: string): void {
    if ((mode & S_IFMT) === S_IFDIR) this.places.set(ino, { parent, name });
  }

  forget(ino: number): void {
    this.places.delete(ino);
  }

  /** The path of directory `dir`, checked name by name: ESTALE if it moved behind our back. */
  of(dir: number): string {
    const names: string[] = [];
    for (let ino = dir; ino !== 1; ) {
      const place = this.places.get(ino);
      if (!place || this.view.lookup(place.parent, place.name) !== ino) throw new ErrnoError('ESTALE');
      names.push(place.name);
      ino = place.parent;
    }
    return `/${names.reverse().join('/')}`;
  }

  child(dir: number, name: string): string {
    const path = this.of(dir);
    return path === '/' ? `/${name}` : `${path}/${name}`;
  }
}

/**
 * The kernel's inode operations over a union view. It only translates: inode numbers are the
 * view's own, names become paths for the view's namespace changes, and union rules stay in the
 * view. New inodes belong to the calling process's user (group of a setgid directory), as on
 * any Linux filesystem.
 */
export function unionNodeOps(view: UnionView, hooks: OpHooks = {}): NodeOps {
  const listings = new Map<number, { changes: number; list: Listing }>();
  const paths = new DirectoryPaths(view);

  const stat = (ino: number) => view.stat(ino);
  /** A new inode: owned by the caller, its group and setgid bit from a setgid parent. */
  const made = (ino: number, parent: number, name: string, caller: Caller) => {
    const above = view.stat(parent);
    const inherits = (above.mode & S_ISGID) !== 0;
    const gid = inherits ? above.gid : caller.gid;
    if (caller.uid !== 0 || gid !== 0) view.chown(ino, caller.uid, gid);
    const attr = view.stat(ino);
    if (inherits && attr.kind === 'dir') view.chmod(ino, (attr.mode | S_ISGID) & 0o7777);
    paths.remember(ino, attr.mode, parent, name);
    return inherits ? view.stat(ino) : attr;
  };

  return {
    lookup(parent, name) {
      const ino = view.lookup(parent, name);
      if (ino === undefined) return undefined;
      const attr = stat(ino);
      paths.remember(ino, attr.mode, parent, name);
      return attr;
    },
    getattr: (node) => stat(node),
    setattr(ino, changes: AttrChanges) {
      if (changes.size !== undefined) view.truncate(ino, changes.size);
      if (changes.mode !== undefined) view.chmod(ino, changes.mode & 0o7777);
      if (changes.uid !== undefined || changes.gid !== undefined) view.chown(ino, changes.uid ?? -1, changes.gid ?? -1);
      if (changes.atime !== undefined || changes.mtime !== undefined) {
        const current = stat(ino);
        const time = (value: bigint | 'now' | undefined, unchanged: bigint) => (value === 'now' ? nowNs() : (value ?? unchanged));
        view.utimes(ino, time(changes.atime, current.atime), time(changes.mtime, current.mtime));
      }
      return stat(ino);
    },
    readlink: (node) => view.readlink(node),
    mknod(parent, name, mode, rdev, caller) {
      const kind = mknodKind(mode);
      const path = paths.child(parent, name);
      const ino = kind === 'file' ? view.createFile(path, mode & 0o7777) : view.mknod(path, kind, mode & 0o7777, rdev);
      return made(ino, parent, name, caller);
    },
    mkdir: (parent, name, mode, caller) => made(view.mkdir(paths.child(parent, name), mode & 0o7777), parent, name, caller),
    symlink: (parent, name, target, caller) => made(view.symlink(target, paths.child(parent, name)), parent, name, caller),
    link: (node, parent, name) => stat(view.linkInode(node, paths.child(parent, name))),
    unlink: (parent, name) => view.unlink(paths.child(parent, name)),
    rmdir(parent, name) {
      const ino = view.lookup(parent, name);
      view.rmdir(paths.child(parent, name));
      if (ino !== undefined) paths.forget(ino);
    },
    rename(parent, name, newParent, newName, flags) {
      if (flags & RENAME_EXCHANGE || flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new ErrnoError('EINVAL');
      const ino = view.lookup(parent, name);
      if (flags & RENAME_NOREPLACE && view.lookup(newParent, newName) !== undefined) throw new ErrnoError('EEXIST');
      view.rename(paths.child(parent, name), paths.child(newParent, newName));
      if (ino !== undefined) paths.remember(ino, stat(ino).mode, newParent, newName);
    },
    create: (parent, name, mode, caller) => made(view.createFile(paths.child(parent, name), mode & 0o7777), parent, name, caller),
    // The kernel's references keep an inode as an open file would: unlinked, it stays readable
    // through descriptors still open on it, and its changes are stored when it is let go.
    retain: (node) => view.open(node),
    forget(node) {
      // A directory the kernel let go of has no child it still holds: its place is not needed.
      paths.forget(node);
      view.close(node);
    },
    read: (node, position, length, target, offset) => view.read(node, position, length, target, offset),
    backing(node) {
      if (hooks.verifyReads) return undefined;
      // Unchanged since it came from a layer, and whole in one file of the store.
      const content = view.storedContent(node);
      return content && view.store.backingFile?.(content);
    },
    write: (node, position, bytes) => view.write(node, position, bytes),
    fsync() {
      view.flush();
      hooks.onSync?.();
    },
    entries(node) {
      // Cached while the view is unchanged: the kernel reads a listing a buffer at a time.
      const cached = listings.get(node);
      if (cached?.changes === view.changeCount) return cached.list;
      const self = stat(node);
      if (self.kind !== 'dir') throw new ErrnoError('ENOTDIR');
      const entries: DirEntry[] = [
        { name: '.', ino: node, mode: self.mode },
        { name: '..', ino: node, mode: self.mode },
      ];
      for (const entry of view.readdir(node)) {
        const attr = stat(entry.ino);
        paths.remember(entry.ino, attr.mode, node, entry.name);
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
    access: (node) => void stat(node),
    observe: (listener) => view.observe((change) => listener(change.dir === undefined ? { node: change.ino } : { parent: change.dir, name: change.name })),
  };
}
