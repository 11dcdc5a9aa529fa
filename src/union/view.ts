import { type Errno, ErrnoError } from '../errno.js';
import { type Inode, type Kind, PATH_MAX, TYPE_BITS, WHITEOUT } from '../layer/index.js';
import { type BlobStore, type Content, DEFAULT_CHUNK_SIZE } from '../store/index.js';
import { nowNs } from './clock.js';
import { CowMap } from './cow-map.js';
import {
  type FileData,
  cloneFileData,
  fileDataFrom,
  flushFileData,
  newFileData,
  ownFileData,
  readFileData,
  truncateFileData,
  unchangedContent,
  writeFileData,
} from './file-data.js';
import { type Image, ROOT_INO } from './image.js';
import { type Place, type ResolveOptions, type ResolvedParent, resolve, resolveParent, walk } from './resolve.js';
import { type Caller, type Owned, ROOT } from './access.js';
import { type Space, spaceOf } from './space.js';
import type { DirEntryInfo, InodeStat } from './stat.js';
import { type UpperDir, type UpperInode, type UpperMeta, cloneUpperInode } from './upper.js';

export interface UnionViewOptions {
  /** Chunk size of files created in the view (default 64 KiB). */
  chunkSize?: number;
  /** Every write answers EROFS: a view of an image, not a container. */
  readOnly?: boolean;
}

/** The state a view forks: the upper layer and the next free inode number. */
export interface UpperState {
  upper: CowMap<number, UpperInode>;
  nextIno: number;
}

type AnyInode = UpperInode | Inode;

const DAY_NS = 86_400n * 1_000_000_000n;
/** Dirty bytes a view holds across its files before storing the least recently written (a page cache's bound). */
const DIRTY_BUDGET = 64 * 1024 * 1024;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_IXGRP = 0o010;

/** What changed: an inode (its attributes or data), or what a name in a directory stands for. */
export type ViewChange = { ino: number; dir?: undefined; name?: undefined } | { ino?: undefined; dir: number; name: string };

/**
 * The union of an image and a private upper layer, with overlayfs's rules: lookups go to the
 * upper layer, then the image; a change copies the inode up first (metadata only: file data is a
 * chunk patch over the lower file); deleting a lower name leaves a whiteout; a directory made
 * where a lower one was deleted is opaque. The upper layer is keyed by inode number, so a copy-up
 * is seen through every name of a hard link and by every open file, and renaming a directory
 * changes two directory entries whatever lies beneath.
 */
export class UnionView {
  readonly image: Image;
  readonly store: BlobStore;
  readonly readOnly: boolean;
  readonly chunkSize: number;
  protected upper: CowMap<number, UpperInode>;
  protected nextIno: number;
  /** Bumped by every change (every change copies up or touches an upper inode first). */
  private changes = 0;
  private readonly openCounts = new Map<number, number>();
  /**
   * Files holding dirty chunks, least recently written first, and the bytes those chunks hold. Like
   * a page cache, close leaves them dirty (a file written and closed costs no hashing then);
   * fsync, save, commit and fork store them, and past DIRTY_BUDGET the oldest are stored.
   */
  private readonly dirtyFiles = new Set<number>();
  private dirtyBytes = 0;
  /**
   * Access times moved by reads (relatime), kept beside the inodes so a read never copies up; a
   * change folds its inode's entry into the upper copy. Neither saved nor forked: an access time
   * is not worth a write (kernel overlayfs moves it on the lower file, out of the container).
   */
  private accessed: Map<number, bigint> | undefined;
  /**
   * Inodes changed since the last takeChanged(): what an incremental save writes. Kept only once
   * trackChanges() asked for it (the engine's containers): a container in a test costs nothing.
   */
  private changed: Changes | undefined;
  /** Made by the first observe(): a container nobody watches costs no Set. */
  private observers: Set<(change: ViewChange) => void> | undefined;

  constructor(image: Image, store: BlobStore, options: UnionViewOptions = {}, state?: UpperState) {
    this.image = image;
    this.store = store;
    this.readOnly = options.readOnly ?? false;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.upper = state?.upper ?? new CowMap();
    this.nextIno = state?.nextIno ?? image.firstFreeIno;
    if (!this.inodeOf(ROOT_INO)) {
      // An image of no layers: the root is the upper layer's own.
      const time = nowNs();
      this.upper.set(ROOT_INO, { kind: 'dir', ...this.newMeta(0o755, time), nlink: 2, lowers: [], opaque: false, entries: new Map() });
      this.noteChanged(ROOT_INO);
    }
  }

  /**
   * Calls `observer` after every change (a FUSE mount drops what the kernel cached of it);
   * returns the function that stops it.
   */
  observe(observer: (change: ViewChange) => void): () => void {
    const observers = (this.observers ??= new Set());
    observers.add(observer);
    return () => observers.delete(observer);
  }

  private report(change: ViewChange): void {
    for (const observer of this.observers ?? []) observer(change);
  }

  /** A number that grows with every change: equal numbers mean nothing changed in between. */
  get changeCount(): number {
    return this.changes;
  }

  // ---- reading -------------------------------------------------------------------------------

  protected inodeOf(ino: number): AnyInode | undefined {
    return this.upper.get(ino) ?? this.image.inode(ino);
  }

  protected inode(ino: number): AnyInode {
    const inode = this.inodeOf(ino);
    if (!inode) throw new ErrnoError('ENOENT', { detail: `no inode ${ino}` });
    return inode;
  }

  kindOf(ino: number): Kind {
    return this.inode(ino).kind;
  }

  /** The kind, mode and owner of an inode: what permission checks look at. */
  owned(ino: number): Owned {
    return this.inode(ino);
  }

  /** The inode a name stands for in a directory, or undefined. */
  lookup(dir: number, name: string): number | undefined {
    const inode = this.inode(dir);
    if (inode.kind !== 'dir') throw new ErrnoError('ENOTDIR');
    if ('entries' in inode) {
      const entry = inode.entries.get(name);
      if (entry !== undefined) return entry === WHITEOUT ? undefined : entry;
      return this.image.lookup(inode.lowers, name);
    }
    return this.image.lookup(this.image.lowers(dir), name);
  }

  resolve(path: string, options: ResolveOptions = { follow: true }): number {
    return resolve(this, path, options).ino;
  }

  /** The inode at a path, or the errno code that resolve would throw (cheaper on a miss). */
  find(path: string, options: ResolveOptions = { follow: true }): number | Errno {
    const walked = walk(this, path, options);
    return typeof walked === 'string' ? walked : walked.ino;
  }

  exists(path: string, options: ResolveOptions = { follow: true }): boolean {
    const found = this.find(path, options);
    if (typeof found === 'number') return true;
    if (found === 'ENOENT' || found === 'ENOTDIR' || found === 'ELOOP') return false;
    throw new ErrnoError(found, { path });
  }

  readlink(ino: number): string {
    const inode = this.inode(ino);
    if (inode.kind !== 'symlink') throw new ErrnoError('EINVAL');
    return inode.target;
  }

  /** The merged listing of a directory: name, inode and kind, in name order. */
  readdir(dir: number): DirEntryInfo[] {
    const names = this.children(dir);
    this.touchAtime(dir, this.inode(dir));
    return [...names].map(([name, ino]) => ({ name, ino, kind: this.kindOf(ino) }));
  }

  private children(dir: number): ReadonlyMap<string, number> {
    const inode = this.inode(dir);
    if (inode.kind !== 'dir') throw new ErrnoError('ENOTDIR');
    if (!('entries' in inode)) return this.image.children(this.image.lowers(dir));
    const lower = this.image.children(inode.lowers);
    if (inode.entries.size === 0) return lower;
    const merged = new Map(lower);
    for (const [name, entry] of inode.entries) {
      if (entry === WHITEOUT) merged.delete(name);
      else merged.set(name, entry);
    }
    return new Map([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private isEmptyDir(dir: number): boolean {
    return this.children(dir).size === 0;
  }

  stat(ino: number): InodeStat {
    const inode = this.inode(ino);
    const upper = 'nlink' in inode ? inode : undefined;
    let size = 0;
    let blocks = 0;
    if (inode.kind === 'file') {
      size = 'data' in inode ? inode.data.size : inode.content.size;
      blocks = Math.ceil(size / 512);
    } else if (inode.kind === 'symlink') {
      size = Buffer.byteLength(inode.target);
    } else if (inode.kind === 'dir') {
      size = 4096;
      blocks = 8;
    }
    return {
      ino,
      kind: inode.kind,
      mode: TYPE_BITS[inode.kind] | inode.mode,
      nlink: upper ? upper.nlink : inode.kind === 'dir' ? this.image.dirNlink(this.image.lowers(ino)) : this.image.nlink(ino),
      uid: inode.uid,
      gid: inode.gid,
      rdev: 'rdev' in inode ? inode.rdev : 0,
      size,
      blocks,
      atime: this.accessed?.get(ino) ?? inode.atime,
      mtime: inode.mtime,
      ctime: inode.ctime,
    };
  }

  /** relatime: a read moves an atime not newer than mtime or ctime, or a day old. */
  private touchAtime(ino: number, inode: AnyInode): void {
    if (this.readOnly) return;
    const atime = this.accessed?.get(ino) ?? inode.atime;
    if (atime > inode.mtime && atime > inode.ctime && nowNs() - atime < DAY_NS) return;
    (this.accessed ??= new Map()).set(ino, nowNs());
  }

  /** statfs(2): the space where the view's blobs live and the inode numbers it has left. */
  statfs(): Space {
    return spaceOf(this.store, this.nextIno - 1);
  }

  xattrs(ino: number): ReadonlyMap<string, Uint8Array> {
    return this.inode(ino).xattrs;
  }

  /** Reads up to `length` bytes at `position` into `target`; returns how many were read. */
  read(ino: number, position: number, length: number, target: Uint8Array, targetOffset = 0): number {
    const inode = this.inode(ino);
    if (inode.kind === 'dir') throw new ErrnoError('EISDIR');
    if (inode.kind !== 'file') throw new ErrnoError('EINVAL');
    const data = 'data' in inode ? inode.data : fileDataFrom(inode.content, ino);
    this.touchAtime(ino, inode);
    return readFileData(this.store, data, position, length, target, targetOffset);
  }

  /**
   * The stored content a file reads as, when no byte of it changed since it came from a layer (a
   * copy-up of metadata alone keeps it): what a FUSE mount may let the kernel read directly.
   */
  storedContent(ino: number): Content | undefined {
    const inode = this.inode(ino);
    if (inode.kind !== 'file') return undefined;
    return 'data' in inode ? unchangedContent(inode.data) : inode.content;
  }

  /**
   * A host file holding exactly the bytes of file `ino`, which stays unchanged while it is read:
   * the kernel may read it directly (FUSE passthrough). Undefined: reads go through read().
   */
  backingFile(ino: number): string | undefined {
    const content = this.storedContent(ino);
    return content && this.store.backingFile?.(content);
  }

  readAll(ino: number): Uint8Array {
    const size = this.stat(ino).size;
    const out = new Uint8Array(size);
    return out.subarray(0, this.read(ino, 0, size, out));
  }

  // ---- copy-up ---------------------------------------------------------------------------------

  private newMeta(mode: number, time: bigint): Omit<UpperMeta, 'nlink'> {
    return { mode: mode & 0o7777, uid: 0, gid: 0, atime: time, mtime: time, ctime: time, xattrs: new Map() };
  }

  /**
   * The writable upper inode for `ino`: copied up from the image (metadata, and for a file a
   * reference to its chunks) or from a fork's shared copy, the first time it changes.
   */
  protected own(ino: number): UpperInode {
    if (this.readOnly) throw new ErrnoError('EROFS');
    this.changes++;
    this.noteChanged(ino);
    if (this.observers?.size) this.report({ ino });
    let owned = this.upper.getOwn(ino);
    if (!owned) {
      const shared = this.upper.get(ino);
      owned = shared ? cloneUpperInode(shared) : this.copyUp(ino);
      this.upper.set(ino, owned);
      this.changed?.whole.add(ino);
    }
    const atime = this.accessed?.get(ino);
    if (atime !== undefined) {
      owned.atime = atime;
      this.accessed!.delete(ino);
    }
    return owned;
  }

  private noteChanged(ino: number): void {
    this.changed?.inodes.add(ino);
  }

  /** A name of directory `dir` changed what it stands for (and the directory with it). */
  private noteEntry(dir: number, name: string): void {
    if (this.observers?.size) this.report({ dir, name });
    if (!this.changed) return;
    const names = this.changed.names.get(dir);
    if (names) names.add(name);
    else this.changed.names.set(dir, new Set([name]));
  }

  /** From now on, notes which inodes change (takeChanged answers them). */
  protected trackChanges(): void {
    this.changed ??= noChanges();
  }

  /** What changed since the last call, or since tracking began. */
  protected takeChanged(): Changes {
    const changed = this.changed;
    if (!changed) throw new Error('changes are not tracked: call trackChanges() first');
    this.changed = noChanges();
    return changed;
  }

  private copyUp(ino: number): UpperInode {
    const lower = this.image.inode(ino);
    if (!lower) throw new ErrnoError('ENOENT', { detail: `no inode ${ino}` });
    const nlink = lower.kind === 'dir' ? this.image.dirNlink(this.image.lowers(ino)) : this.image.nlink(ino);
    // Field by field, not a spread of the lower inode: a copy-up is on the path of every first
    // write, and the lower inode's own fields (content, children) have no place in the upper one.
    const { mode, uid, gid, atime, mtime, ctime } = lower;
    const xattrs = lower.xattrs.size === 0 ? new Map<string, Uint8Array>() : new Map(lower.xattrs);
    switch (lower.kind) {
      case 'file':
        return { kind: 'file', mode, uid, gid, atime, mtime, ctime, xattrs, nlink, data: fileDataFrom(lower.content, ino) };
      case 'dir':
        return { kind: 'dir', mode, uid, gid, atime, mtime, ctime, xattrs, nlink, lowers: this.image.lowers(ino), opaque: false, entries: new Map() };
      case 'symlink':
        return { kind: 'symlink', mode, uid, gid, atime, mtime, ctime, xattrs, nlink, target: lower.target };
      case 'chardev':
      case 'blockdev':
        return { kind: lower.kind, mode, uid, gid, atime, mtime, ctime, xattrs, nlink, rdev: lower.rdev };
      default:
        return { kind: lower.kind, mode, uid, gid, atime, mtime, ctime, xattrs, nlink, rdev: 0 };
    }
  }

  private ownDir(ino: number): UpperDir {
    const inode = this.own(ino);
    if (inode.kind !== 'dir') throw new ErrnoError('ENOTDIR');
    return inode;
  }

  protected touch(inode: UpperMeta, data = true): void {
    const time = nowNs();
    inode.ctime = time;
    if (data) inode.mtime = time;
  }

  // ---- names -----------------------------------------------------------------------------------

  /**
   * Linux asks for write access to the mount after it finds the parent directory and before it
   * looks at the name: on a read-only view a missing name or a full directory is still EROFS.
   */
  private parentForChange(path: string | Place, dot: Errno, follow = false): ResolvedParent {
    const parent = resolveParent(this, path, { follow, dot });
    // A directory removed while the kernel still holds it takes no new names (ENOENT, as Linux).
    if (typeof path !== 'string' && this.upper.get(parent.dir)?.nlink === 0) throw new ErrnoError('ENOENT');
    if (this.readOnly) throw new ErrnoError('EROFS', { path: label(path) });
    return parent;
  }

  /**
   * Makes a new inode under a name that must not exist yet (EEXIST), owned by `owner`: its group,
   * and for a directory the setgid bit too, come from a setgid parent (inode_init_owner).
   */
  private createAt(path: string | Place, make: (time: bigint, parent: UpperDir, name: string) => UpperInode, owner: Caller, follow = false): number {
    const { dir, name, trailingSlash } = this.parentForChange(path, follow ? 'EISDIR' : 'EEXIST', follow);
    const exists = this.lookup(dir, name) !== undefined;
    if (exists) throw new ErrnoError('EEXIST', { path: label(path) });
    // Only a directory can be named with a trailing slash (open(O_CREAT) of "x/" is EISDIR).
    if (trailingSlash && follow) throw new ErrnoError('EISDIR', { path: label(path) });
    const parent = this.ownDir(dir);
    const ino = this.nextIno++;
    const made = make(nowNs(), parent, name);
    made.uid = owner.uid;
    made.gid = parent.mode & S_ISGID ? parent.gid : owner.gid;
    if (parent.mode & S_ISGID && made.kind === 'dir') made.mode |= S_ISGID;
    this.upper.set(ino, made);
    this.noteChanged(ino);
    this.changed?.whole.add(ino);
    parent.entries.set(name, ino);
    if (made.kind === 'dir') parent.nlink++;
    this.noteEntry(dir, name);
    this.touch(parent);
    return ino;
  }

  mkdir(path: string | Place, mode = 0o777, owner = ROOT): number {
    return this.createAt(
      path,
      (time, parent, name) => {
        // A directory made where a lower one was deleted must not show the old one's contents.
        const opaque = this.image.lookup(parent.lowers, name) !== undefined;
        return { kind: 'dir', ...this.newMeta(mode, time), nlink: 2, lowers: [], opaque, entries: new Map() };
      },
      owner,
    );
  }

  /** Creates an empty regular file (EEXIST if the name exists; a dangling symlink is followed). */
  createFile(path: string | Place, mode = 0o666, owner = ROOT): number {
    return this.createAt(path, (time) => ({ kind: 'file', ...this.newMeta(mode, time), nlink: 1, data: newFileData(this.chunkSize) }), owner, true);
  }

  symlink(target: string, path: string | Place, owner = ROOT): number {
    if (target.includes('\0')) throw new ErrnoError('EINVAL', { path: label(path) });
    // symlink(2) takes the target as a path: PATH_MAX bytes with its NUL at most.
    if (Buffer.byteLength(target) >= PATH_MAX) throw new ErrnoError('ENAMETOOLONG', { path: label(path) });
    return this.createAt(path, (time) => ({ kind: 'symlink', ...this.newMeta(0o777, time), nlink: 1, target }), owner);
  }

  mknod(path: string | Place, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', mode: number, rdev = 0, owner = ROOT): number {
    return this.createAt(path, (time) => ({ kind, ...this.newMeta(mode, time), nlink: 1, rdev }), owner);
  }

  link(existingPath: string, newPath: string): number {
    // Linux's order: the source must exist, then the target's parent, then the target must not,
    // and only then is a directory refused.
    return this.linkInode(this.resolve(existingPath, { follow: false }), newPath, existingPath);
  }

  /** A new name for an inode (FUSE names the inode, not a path to it). */
  linkInode(ino: number, newPath: string | Place, existingPath?: string): number {
    const dest = label(newPath);
    this.inode(ino);
    const { dir, name } = this.parentForChange(newPath, 'EEXIST');
    if (this.lookup(dir, name) !== undefined) throw new ErrnoError('EEXIST', { path: existingPath, dest });
    if (this.kindOf(ino) === 'dir') throw new ErrnoError('EPERM', { path: existingPath, dest });
    const inode = this.own(ino);
    inode.nlink++;
    this.touch(inode, false);
    const parent = this.ownDir(dir);
    parent.entries.set(name, ino);
    this.noteEntry(dir, name);
    this.touch(parent);
    return ino;
  }

  /** Takes a name out of a directory: a whiteout where a lower layer has the name. */
  private removeName(dir: number, name: string): void {
    const parent = this.ownDir(dir);
    if (this.image.lookup(parent.lowers, name) !== undefined) parent.entries.set(name, WHITEOUT);
    else parent.entries.delete(name);
    this.noteEntry(dir, name);
    this.touch(parent);
  }

  /** One name fewer for an inode; with none left and no open file, its upper copy goes too. */
  private dropLink(ino: number): void {
    // A lower inode losing its only name, with no open file, needs no upper copy at all.
    if (!this.upper.has(ino) && this.image.nlink(ino) <= 1 && !this.openCounts.has(ino)) return;
    const own = this.own(ino);
    own.nlink = own.kind === 'dir' ? 0 : own.nlink - 1;
    this.touch(own, false);
    this.forgetIfUnused(ino);
  }

  private forgetIfUnused(ino: number): void {
    const inode = this.upper.get(ino);
    if (inode && inode.nlink <= 0 && !this.openCounts.has(ino)) {
      this.changes++;
      this.noteChanged(ino);
      if (inode.kind === 'file') this.forgetDirty(ino, inode.data);
      this.upper.delete(ino);
      this.accessed?.delete(ino);
    }
  }

  unlink(path: string | Place): void {
    const { dir, name } = this.parentForChange(path, 'EISDIR');
    const ino = this.lookup(dir, name);
    if (ino === undefined) throw new ErrnoError('ENOENT', { path: label(path) });
    if (this.kindOf(ino) === 'dir') throw new ErrnoError('EISDIR', { path: label(path) });
    this.removeName(dir, name);
    this.dropLink(ino);
  }

  rmdir(path: string | Place): void {
    const dotdot = typeof path === 'string' ? /\/\.\.\/*$/.test(path) : path.name === '..';
    const { dir, name } = this.parentForChange(path, dotdot ? 'ENOTEMPTY' : 'EINVAL');
    const ino = this.lookup(dir, name);
    if (ino === undefined) throw new ErrnoError('ENOENT', { path: label(path) });
    if (this.kindOf(ino) !== 'dir') throw new ErrnoError('ENOTDIR', { path: label(path) });
    if (!this.isEmptyDir(ino)) throw new ErrnoError('ENOTEMPTY', { path: label(path) });
    this.removeName(dir, name);
    this.dropLink(ino);
    this.ownDir(dir).nlink--;
  }

  /**
   * POSIX rename, for files and directories from any layer: two directory entries change and
   * nothing is copied (overlayfs without redirect_dir answers EXDEV for lower directories).
   */
  rename(from: string | Place, to: string | Place): void {
    const source = resolveParent(this, from, { follow: false, dot: 'EBUSY' });
    const target = this.parentForChange(to, 'EBUSY');
    const fail = (code: Errno) => new ErrnoError(code, { path: label(from), dest: label(to) });
    const ino = this.lookup(source.dir, source.name);
    if (ino === undefined) throw fail('ENOENT');
    const isDir = this.kindOf(ino) === 'dir';
    if (isDir && (target.ancestors.includes(ino) || target.dir === ino)) throw fail('EINVAL');
    const replaced = this.lookup(target.dir, target.name);
    if (replaced === ino) return;
    // Linux checks this before the kinds: a target that contains the source is not empty.
    if (replaced !== undefined && source.ancestors.includes(replaced)) throw fail('ENOTEMPTY');
    if (replaced !== undefined) {
      const replacedIsDir = this.kindOf(replaced) === 'dir';
      if (isDir && !replacedIsDir) throw fail('ENOTDIR');
      if (!isDir && replacedIsDir) throw fail('EISDIR');
      if (replacedIsDir && !this.isEmptyDir(replaced)) throw fail('ENOTEMPTY');
    }
    // A moved directory keeps its own lower parts, recorded in its upper copy.
    const moved = this.own(ino);
    this.touch(moved, false);
    this.removeName(source.dir, source.name);
    if (replaced !== undefined) this.dropLink(replaced);
    const parent = this.ownDir(target.dir);
    parent.entries.set(target.name, ino);
    this.noteEntry(target.dir, target.name);
    this.touch(parent);
    // A directory's ".." moves with it; a directory it replaced took its parent's link with it.
    if (isDir && source.dir !== target.dir) {
      this.ownDir(source.dir).nlink--;
      if (replaced === undefined) parent.nlink++;
    } else if (isDir && replaced !== undefined) parent.nlink--;
  }

  // ---- inode changes ---------------------------------------------------------------------------

  protected ownFile(ino: number) {
    const inode = this.inode(ino);
    if (inode.kind === 'dir') throw new ErrnoError('EISDIR');
    if (inode.kind !== 'file') throw new ErrnoError('EINVAL');
    const own = this.own(ino);
    if (own.kind !== 'file') throw new Error('copy-up changed the kind of an inode');
    return own;
  }

  write(ino: number, position: number, bytes: Uint8Array): number {
    const file = this.ownFile(ino);
    const held = file.data.dirtyBytes;
    writeFileData(this.store, file.data, position, bytes);
    this.noteDirty(ino, file.data.dirtyBytes - held);
    this.touch(file);
    return bytes.length;
  }

  truncate(ino: number, size: number): void {
    if (size < 0 || !Number.isSafeInteger(size)) throw new ErrnoError('EINVAL');
    const file = this.ownFile(ino);
    const held = file.data.dirtyBytes;
    truncateFileData(this.store, file.data, size);
    this.noteDirty(ino, file.data.dirtyBytes - held);
    this.touch(file);
  }

  /**
   * Gives file `target` the content of file `source` by sharing its chunks: nothing is copied or
   * stored again (copyFile, COPYFILE_FICLONE). A lower source stays the target's origin; an upper
   * one is flushed first, so the two never share a chunk that can still change.
   */
  clone(source: number, target: number): void {
    const from = this.inode(source);
    if (from.kind === 'dir') throw new ErrnoError('EISDIR');
    if (from.kind !== 'file') throw new ErrnoError('EINVAL');
    if ('data' in from) this.flushInode(source);
    const file = this.ownFile(target);
    this.forgetDirty(target, file.data);
    file.data = 'data' in from ? cloneFileData(from.data) : fileDataFrom(from.content, source);
    this.touch(file);
  }

  /**
   * Gives file `ino` content stored for it alone, last written at `mtime` (ns): bytes a program
   * wrote outside the view (a FUSE write backing), taken in.
   */
  setContent(ino: number, content: Content, mtime: bigint): void {
    const file = this.ownFile(ino);
    this.forgetDirty(ino, file.data);
    file.data = ownFileData(content);
    this.touch(file);
    file.mtime = mtime;
  }

  chmod(ino: number, mode: number): void {
    const inode = this.own(ino);
    inode.mode = mode & 0o7777;
    this.touch(inode, false);
  }

  /**
   * chown(2): -1 leaves an id unchanged. Like Linux, even for root, it drops a non-directory's
   * set-user-ID bit, and its set-group-ID bit when group execute makes it a set-id program;
   * `keepSetIds` is for giving a new inode its owner, which must keep the mode it was made with.
   */
  chown(ino: number, uid: number, gid: number, options: { keepSetIds?: boolean } = {}): void {
    const inode = this.own(ino);
    if (uid !== -1) inode.uid = uid;
    if (gid !== -1) inode.gid = gid;
    if (inode.kind !== 'dir' && !options.keepSetIds) inode.mode &= ~(S_ISUID | (inode.mode & S_IXGRP ? S_ISGID : 0));
    this.touch(inode, false);
  }

  utimes(ino: number, atime: bigint, mtime: bigint): void {
    const inode = this.own(ino);
    inode.atime = atime;
    inode.mtime = mtime;
    this.touch(inode, false);
  }

  setxattr(ino: number, name: string, value: Uint8Array, flag?: 'create' | 'replace'): void {
    const present = this.xattrs(ino).has(name);
    if (flag === 'create' && present) throw new ErrnoError('EEXIST');
    if (flag === 'replace' && !present) throw new ErrnoError('ENODATA');
    const inode = this.own(ino);
    // A copy: a Buffer's slice() is a view (the FUSE session passes one of its request buffer).
    inode.xattrs.set(name, new Uint8Array(value));
    this.touch(inode, false);
  }

  removexattr(ino: number, name: string): void {
    if (!this.xattrs(ino).has(name)) throw new ErrnoError('ENODATA');
    const inode = this.own(ino);
    inode.xattrs.delete(name);
    this.touch(inode, false);
  }

  // ---- open files ----------------------------------------------------------------------------

  /** Keeps an inode alive while a file is open on it, even after its last name is gone. */
  open(ino: number): void {
    this.inode(ino);
    this.openCounts.set(ino, (this.openCounts.get(ino) ?? 0) + 1);
  }

  close(ino: number): void {
    const count = (this.openCounts.get(ino) ?? 0) - 1;
    if (count > 0) {
      this.openCounts.set(ino, count);
      return;
    }
    this.openCounts.delete(ino);
    this.forgetIfUnused(ino);
  }

  /** Notes a write to `ino` that changed its dirty bytes by `grown`; stores the oldest files past the budget. */
  private noteDirty(ino: number, grown: number): void {
    // Re-added last: the set's order is the order files were last written.
    this.dirtyFiles.delete(ino);
    this.dirtyFiles.add(ino);
    this.dirtyBytes += grown;
    for (const oldest of this.dirtyFiles) {
      if (this.dirtyBytes <= DIRTY_BUDGET || oldest === ino) break;
      this.flushInode(oldest);
    }
  }

  /** Drops `ino`'s dirty chunks from the accounting (its data is being thrown away or replaced). */
  private forgetDirty(ino: number, data: FileData): void {
    if (this.dirtyFiles.delete(ino)) this.dirtyBytes -= data.dirtyBytes;
  }

  private flushInode(ino: number): void {
    const inode = this.upper.getOwn(ino);
    if (inode?.kind === 'file' && this.dirtyFiles.has(ino)) {
      this.dirtyBytes -= inode.data.dirtyBytes;
      flushFileData(this.store, inode.data);
      this.dirtyBytes += inode.data.dirtyBytes;
    }
    this.dirtyFiles.delete(ino);
  }

  /** Stores every dirty chunk as a blob (fsync, commit and fork call it). */
  flush(): void {
    for (const ino of [...this.dirtyFiles]) this.flushInode(ino);
  }
}

/** The path to name in an error: a Place (FUSE's directory and name) has none. */
function label(path: string | Place): string | undefined {
  return typeof path === 'string' ? path : undefined;
}

/**
 * What changed since the last incremental save: inodes, and per directory the names that changed.
 * A directory in `whole` is new to the upper layer since then: written with all its names.
 */
export interface Changes {
  inodes: Set<number>;
  names: Map<number, Set<string>>;
  whole: Set<number>;
}

function noChanges(): Changes {
  return { inodes: new Set(), names: new Map(), whole: new Set() };
}
