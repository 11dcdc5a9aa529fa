import * as fs from 'node:fs';
import { ErrnoError } from '../errno.js';
import { MemoryBlobStore } from '../store/index.js';
import { type Caller, Image, type Place as NamePlace, ROOT_INO, UnionView, resolveParent } from '../union/index.js';
import type { DirLayer } from './dir-layer.js';
import { isOverlayXattr } from './format.js';
import { FdCache } from './fd-cache.js';
import type { UpperDir } from './upper-dir.js';

interface Place {
  parent: number;
  name: string;
}

/** Names remembered per inode: enough for a hard link whose other names were removed. */
const PLACES_KEPT = 4;

/**
 * The union core over layers kept as overlay-format directories. The core decides every rule
 * (lookup, whiteouts, copy-up, rename of any directory); this view adds where the bytes are: a
 * file's data is read from its lower file, and every change is made on the upper directory too,
 * in overlay format, as it happens. A lower file is copied up whole on its first change, as
 * kernel overlayfs does, so the upper directory is a complete layer for any overlay reader.
 *
 * The upper directory's existing contents are the image's top layer; the core's upper layer
 * holds what changed since the mount. Both name the same tree, so a path in the union is the same
 * path in the upper directory.
 */
export class OverlayView extends UnionView {
  /** The image's layers as directories, bottom first (the upper directory last, if any). */
  readonly dirLayers: readonly DirLayer[];
  private readonly upperLayer: number;
  private readonly disk: UpperDir | undefined;
  /** Files whose bytes are in the upper directory (copied up or made since the mount). */
  private readonly onUpper = new Set<number>();
  private readonly places = new Map<number, Place[]>();
  private readonly held = new Map<number, number>();
  private readonly lowerFds = new FdCache(256);
  private readonly upperFds = new FdCache(4096);
  private readonly dirty = new Set<number>();
  /** The read-ahead's next slice, while directories are left to read. */
  private reading: NodeJS.Immediate | undefined;
  private released = false;

  /** `lowers` top first, as lowerdir= lists them. */
  constructor(lowers: readonly DirLayer[], upper?: { layer: DirLayer; disk: (view: OverlayView) => UpperDir }) {
    const dirLayers = [...lowers].reverse();
    if (upper) dirLayers.push(upper.layer);
    const image = new Image(
      dirLayers.map((dir) => dir.layer),
      { redirect: (layer, ino) => dirLayers[layer]!.redirects.get(ino) },
    );
    super(image, new MemoryBlobStore(), { readOnly: !upper });
    this.dirLayers = dirLayers;
    this.upperLayer = upper ? dirLayers.length - 1 : -1;
    this.disk = upper?.disk(this);
  }

  // ---- where things are ------------------------------------------------------------------------

  private remember(ino: number, parent: number, name: string): void {
    const list = this.places.get(ino);
    if (!list) return void this.places.set(ino, [{ parent, name }]);
    if (list.some((place) => place.parent === parent && place.name === name)) return;
    list.unshift({ parent, name });
    if (list.length > PLACES_KEPT) list.pop();
  }

  override lookup(dir: number, name: string): number | undefined {
    const ino = super.lookup(dir, name);
    if (ino !== undefined) this.remember(ino, dir, name);
    return ino;
  }

  override readdir(dir: number) {
    const entries = super.readdir(dir);
    for (const entry of entries) this.remember(entry.ino, dir, entry.name);
    return entries;
  }

  /** A path of an inode in the union (and so in the upper directory). */
  pathOf(ino: number): string {
    if (ino === ROOT_INO) return '/';
    for (const place of this.places.get(ino) ?? []) {
      if (super.lookup(place.parent, place.name) !== ino) continue;
      const parent = this.pathOf(place.parent);
      return parent === '/' ? `/${place.name}` : `${parent}/${place.name}`;
    }
    throw new ErrnoError('ESTALE', { detail: `the path of inode ${ino} is not known` });
  }

  /** The path of a name the core was given as a path or as a directory's inode and a name (FUSE). */
  private pathAt(at: string | NamePlace): string {
    if (typeof at === 'string') return at;
    const dir = this.pathOf(at.dir);
    return dir === '/' ? `/${at.name}` : `${dir}/${at.name}`;
  }

  private parentOf(path: string): { dir: number; name: string } {
    const { dir, name } = resolveParent(this, path, { follow: false });
    return { dir, name };
  }

  /** The lower parts of a directory, the upper directory's own left out. */
  private lowerParts(dir: number): number[] {
    const inode = this.inode(dir);
    const parts = 'entries' in inode && inode.kind === 'dir' ? inode.lowers : this.image.lowers(dir);
    return parts.filter((part) => this.image.origin(part)?.layer !== this.upperLayer);
  }

  /** Whether the lower layers have the name: deleting it needs a whiteout in the upper directory. */
  private lowerHas(dir: number, name: string): boolean {
    return this.image.lookup(this.lowerParts(dir), name) !== undefined;
  }

  /** The path of a directory's topmost lower part in its layer, where a redirect points. */
  private lowerOrigin(dir: number): string | undefined {
    const top = this.lowerParts(dir)[0];
    if (top === undefined) return undefined;
    const where = this.image.origin(top)!;
    const layer = this.dirLayers[where.layer]!;
    return layer.redirects.get(where.ino) ?? layer.layer.pathsOf(where.ino)[0];
  }

  private dataOnUpper(ino: number): boolean {
    return this.onUpper.has(ino) || this.image.origin(ino)?.layer === this.upperLayer;
  }

  /** The host file holding a lower inode's bytes. */
  private lowerFile(ino: number): string {
    const where = this.image.origin(ino);
    if (!where) throw new ErrnoError('EIO', { detail: `inode ${ino} has no lower file` });
    return this.dirLayers[where.layer]!.hostPath(where.ino);
  }

  private fdOf(ino: number): number {
    if (this.dataOnUpper(ino)) return this.upperFds.open(ino, () => this.disk!.host(this.pathOf(ino)), 'r+');
    return this.lowerFds.open(ino, () => this.lowerFile(ino), 'r');
  }

  /** Copies a lower entry up into the upper directory before its first change there. */
  private toUpper(ino: number): string {
    const path = this.pathOf(ino);
    const kind = this.kindOf(ino);
    if (kind === 'dir') {
      this.disk!.ensureDir(path);
      return path;
    }
    if (this.dataOnUpper(ino)) return path;
    const where = this.image.origin(ino);
    // Other names of a hard link still showing the same inode go up with it, as links.
    const links = where
      ? this.dirLayers[where.layer]!.layer.pathsOf(where.ino).filter((other) => other !== path && this.find(other, { follow: false }) === ino)
      : [];
    this.disk!.copyUp(path, kind === 'file' ? this.lowerFile(ino) : undefined, links);
    this.onUpper.add(ino);
    this.lowerFds.close(ino);
    return path;
  }

  private describe(path: string) {
    const ino = this.resolve(path, { follow: false });
    const stat = this.stat(ino);
    return { stat, xattrs: this.xattrs(ino), target: stat.kind === 'symlink' ? this.readlink(ino) : undefined };
  }

  /** For UpperDir: the union's metadata of a path. */
  describePath(path: string) {
    return this.describe(path);
  }

  // ---- data ------------------------------------------------------------------------------------

  override read(ino: number, position: number, length: number, target: Uint8Array, targetOffset = 0): number {
    const kind = this.kindOf(ino);
    if (kind === 'dir') throw new ErrnoError('EISDIR');
    if (kind !== 'file') throw new ErrnoError('EINVAL');
    const fd = this.fdOf(ino);
    let done = 0;
    while (done < length) {
      const got = fs.readSync(fd, target, targetOffset + done, length - done, position + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  /** A lower file is passed through as it is: any change copies it up first, to another file. */
  override backingFile(ino: number): string | undefined {
    if (this.kindOf(ino) !== 'file' || this.dataOnUpper(ino)) return undefined;
    return this.lowerFile(ino);
  }

  override write(ino: number, position: number, bytes: Uint8Array): number {
    const file = this.ownFile(ino);
    this.toUpper(ino);
    const fd = this.fdOf(ino);
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    file.data.size = Math.max(file.data.size, position + bytes.length);
    this.dirty.add(ino);
    this.touch(file);
    return bytes.length;
  }

  override truncate(ino: number, size: number): void {
    if (size < 0 || !Number.isSafeInteger(size)) throw new ErrnoError('EINVAL');
    const file = this.ownFile(ino);
    this.toUpper(ino);
    fs.ftruncateSync(this.fdOf(ino), size);
    file.data.size = size;
    this.dirty.add(ino);
    this.touch(file);
  }

  override clone(): void {
    throw new ErrnoError('ENOTSUP', { detail: 'clone is not offered over overlay directories' });
  }

  override flush(): void {
    for (const ino of this.dirty) {
      const fd = this.upperFds.get(ino);
      if (fd !== undefined) fs.fsyncSync(fd);
    }
    this.dirty.clear();
  }

  override open(ino: number): void {
    super.open(ino);
    this.held.set(ino, (this.held.get(ino) ?? 0) + 1);
  }

  override close(ino: number): void {
    super.close(ino);
    const count = (this.held.get(ino) ?? 0) - 1;
    if (count > 0) return void this.held.set(ino, count);
    this.held.delete(ino);
    this.lowerFds.close(ino);
    this.upperFds.close(ino);
    this.dirty.delete(ino);
  }

  /** Keeps an upper file readable through the kernel's references after its last name goes. */
  private keepOpen(ino: number | undefined): void {
    if (ino === undefined || !this.held.has(ino) || this.kindOf(ino) !== 'file' || !this.dataOnUpper(ino)) return;
    this.upperFds.pin(ino, () => this.disk!.host(this.pathOf(ino)), 'r+');
  }

  // ---- names -----------------------------------------------------------------------------------

  /** Mirrors a new entry: a directory made where a lower name is hidden is opaque. */
  private made(path: string, ino: number): number {
    const { dir, name } = this.parentOf(path);
    this.remember(ino, dir, name);
    // Only where a lower layer has the name can the upper directory hold a whiteout for it.
    const lower = this.lowerHas(dir, name);
    const isDir = this.kindOf(ino) === 'dir';
    const fd = this.undoing(
      () => this.disk!.create(path, this.describe(path), { replacing: lower, opaque: lower && isDir }),
      () => {
        if (isDir) super.rmdir(path);
        else super.unlink(path);
        // The disk side may have taken the whiteout away before it failed: put it back.
        if (lower) this.disk!.whiteout(path);
      },
    );
    if (fd !== undefined) {
      this.upperFds.adopt(ino, fd);
      this.onUpper.add(ino);
    }
    return ino;
  }

  override mkdir(at: string | NamePlace, mode = 0o777, owner?: Caller): number {
    const path = this.pathAt(at);
    return this.made(path, super.mkdir(path, mode, owner));
  }

  override createFile(at: string | NamePlace, mode = 0o666, owner?: Caller): number {
    const path = this.pathAt(at);
    return this.made(path, super.createFile(path, mode, owner));
  }

  override symlink(target: string, at: string | NamePlace, owner?: Caller): number {
    const path = this.pathAt(at);
    return this.made(path, super.symlink(target, path, owner));
  }

  override mknod(at: string | NamePlace, kind: 'chardev' | 'blockdev' | 'fifo' | 'socket', mode: number, rdev = 0, owner?: Caller): number {
    const path = this.pathAt(at);
    return this.made(path, super.mknod(path, kind, mode, rdev, owner));
  }

  override linkInode(ino: number, at: string | NamePlace, existingPath?: string): number {
    const newPath = this.pathAt(at);
    const existing = this.readOnly ? undefined : this.toUpper(ino);
    super.linkInode(ino, newPath, existingPath);
    const { dir, name } = this.parentOf(newPath);
    this.remember(ino, dir, name);
    this.undoing(
      () => this.disk!.link(existing!, newPath),
      () => super.unlink(newPath),
    );
    return ino;
  }

  /**
   * Runs the disk side of a new name; if the disk refuses (ENOSPC, EDQUOT, EIO), the name is taken
   * out of the union again, so the program's error and both trees agree.
   */
  private undoing<T>(onDisk: () => T, undo: () => void): T {
    try {
      return onDisk();
    } catch (error) {
      try {
        undo();
      } catch (undoError) {
        throw new AggregateError([error, undoError], `${(error as Error).message}; undoing it in the union failed too`);
      }
      throw error;
    }
  }

  /** Takes a name out of the upper directory, leaving a whiteout where a lower layer has it. */
  private removed(path: string, lower: boolean): void {
    if (lower) this.disk!.whiteout(path);
    else this.disk!.clear(path);
  }

  override unlink(at: string | NamePlace): void {
    const path = this.pathAt(at);
    const before = this.beforeRemoval(path);
    super.unlink(path);
    this.removed(path, before.lower);
  }

  override rmdir(at: string | NamePlace): void {
    const path = this.pathAt(at);
    const before = this.beforeRemoval(path);
    super.rmdir(path);
    this.removed(path, before.lower);
  }

  private beforeRemoval(path: string): { lower: boolean } {
    try {
      const { dir, name } = this.parentOf(path);
      const ino = super.lookup(dir, name);
      this.keepOpen(ino);
      return { lower: this.lowerHas(dir, name) };
    } catch {
      // The core's own call answers with the right error.
      return { lower: false };
    }
  }

  /**
   * Any directory renames, as in the core: on disk an upper directory moves, a lower one is made
   * anew at the target, and either carries a redirect to its lower path (overlayfs's
   * redirect_dir), so its lower contents follow it for layerfs and kernel overlayfs alike.
   */
  override rename(fromAt: string | NamePlace, toAt: string | NamePlace): void {
    const from = this.pathAt(fromAt);
    const to = this.pathAt(toAt);
    let plan: { ino: number; isDir: boolean; fromLower: boolean; toLower: boolean; origin?: string; dirOnDisk: boolean };
    try {
      const source = this.parentOf(from);
      const target = this.parentOf(to);
      const ino = super.lookup(source.dir, source.name);
      const replaced = super.lookup(target.dir, target.name);
      if (ino === undefined || replaced === ino || this.readOnly) return super.rename(from, to);
      const isDir = this.kindOf(ino) === 'dir';
      if (!isDir) this.toUpper(ino);
      this.keepOpen(replaced);
      plan = {
        ino,
        isDir,
        fromLower: this.lowerHas(source.dir, source.name),
        toLower: this.lowerHas(target.dir, target.name),
        origin: isDir ? this.lowerOrigin(ino) : undefined,
        dirOnDisk: isDir && this.disk!.has(from),
      };
    } catch {
      return super.rename(from, to);
    }
    super.rename(from, to);
    const { dir, name } = this.parentOf(to);
    this.remember(plan.ino, dir, name);
    const disk = this.disk!;
    if (!plan.isDir || plan.dirOnDisk) disk.rename(from, to);
    else disk.copyDir(to);
    if (plan.origin !== undefined) disk.setRedirect(to, plan.origin);
    else if (plan.isDir && plan.toLower) disk.setOpaque(to);
    if (plan.fromLower) disk.whiteout(from);
  }

  // ---- attributes ------------------------------------------------------------------------------

  /** The host path of an inode's upper copy, copied up first. */
  private upperHost(ino: number): string {
    return this.disk!.host(this.toUpper(ino));
  }

  override chmod(ino: number, mode: number): void {
    super.chmod(ino, mode);
    if (this.kindOf(ino) !== 'symlink') fs.chmodSync(this.upperHost(ino), mode & 0o7777);
  }

  override chown(ino: number, uid: number, gid: number): void {
    super.chown(ino, uid, gid);
    this.disk!.chown(this.upperHost(ino), uid, gid);
  }

  override utimes(ino: number, atime: bigint, mtime: bigint): void {
    super.utimes(ino, atime, mtime);
    fs.lutimesSync(this.upperHost(ino), Number(atime) / 1e9, Number(mtime) / 1e9);
  }

  override setxattr(ino: number, name: string, value: Uint8Array, flag?: 'create' | 'replace'): void {
    // overlayfs's own names would change what the layer means to every reader.
    if (isOverlayXattr(name)) throw new ErrnoError('EPERM');
    super.setxattr(ino, name, value, flag);
    this.disk!.setXattr(this.upperHost(ino), name, value);
  }

  override removexattr(ino: number, name: string): void {
    if (isOverlayXattr(name)) throw new ErrnoError('EPERM');
    super.removexattr(ino, name);
    this.disk!.removeXattr(this.upperHost(ino), name);
  }

  /**
   * Reads the lower directories not read yet in the background, a few milliseconds at a time
   * between requests, so a first walk of the tree (find, ls -R, tar) finds them in memory while
   * the mount went live without waiting for them.
   */
  readAhead(slice = 4): void {
    if (this.reading) return;
    const step = () => {
      this.reading = undefined;
      if (this.released) return;
      const left = this.dirLayers.filter((dir) => dir.loadSome(slice)).length;
      if (left > 0) this.reading = setImmediate(step);
    };
    this.reading = setImmediate(step);
  }

  /** Closes every file this view holds open. */
  release(): void {
    this.released = true;
    if (this.reading) clearImmediate(this.reading);
    this.flush();
    this.lowerFds.closeAll();
    this.upperFds.closeAll();
  }
}
