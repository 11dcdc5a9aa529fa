import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { isErrno } from '../errno.js';
import { TYPE_BITS, devMajor, devMinor } from '../layer/index.js';
import type { InodeStat } from '../union/index.js';
import { WHITEOUT_PREFIX, overlayXattr } from './format.js';
import type { IdMap } from './ids.js';
import { mknod, removeXattr, setXattr } from './xattr.js';

/** What the upper directory needs to know of an entry of the union to make it on disk. */
export interface Described {
  stat: InodeStat;
  xattrs: ReadonlyMap<string, Uint8Array>;
  target?: string;
}

export interface UpperDirOptions {
  uids?: IdMap;
  gids?: IdMap;
  /** Owners are not written (squash_to_root): the files keep the server's ids. */
  keepOwners?: boolean;
  /** trusted.overlay.* (root) or user.overlay.* xattrs, char-device or `.wh.` whiteouts. */
  privileged: boolean;
}


/**
 * The upper layer as an overlay-format directory, changed in place by path, as kernel overlayfs
 * keeps it: copies are made in the work directory and renamed in whole, so a reader never sees a
 * half-copied file; a deleted lower name becomes a whiteout, a directory made over a deleted
 * lower one is opaque, a moved lower directory carries a redirect to where its lower parts are.
 * Paths are union paths ('/a/b'); `describe` gives the union's metadata of one.
 */
export class UpperDir {
  private temps = 0;

  constructor(
    readonly dir: string,
    readonly work: string,
    private readonly describe: (path: string) => Described,
    private readonly options: UpperDirOptions,
  ) {}

  host(path: string): string {
    return path === '/' ? this.dir : this.dir + path;
  }

  private temp(): string {
    return nodePath.join(this.work, `layerfs-${process.pid}-${++this.temps}`);
  }

  /** What is on disk at a path: 'dir', 'other', or undefined. */
  private kindAt(path: string): 'dir' | 'other' | undefined {
    try {
      return fs.lstatSync(this.host(path)).isDirectory() ? 'dir' : 'other';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  has(path: string): boolean {
    return this.kindAt(path) !== undefined;
  }

  /** Makes sure the directory at `path` and its parents are in the upper layer (a copy-up). */
  ensureDir(path: string): void {
    if (path === '/' || this.kindAt(path) === 'dir') return;
    this.ensureDir(nodePath.posix.dirname(path));
    const temp = this.temp();
    const { stat, xattrs } = this.describe(path);
    fs.mkdirSync(temp, { mode: stat.mode & 0o7777 });
    this.applyMeta(temp, stat, xattrs);
    fs.renameSync(temp, this.host(path));
  }

  /** Copies an entry of a lower layer up (its bytes from `source`), beside its other names. */
  copyUp(path: string, source: string | undefined, links: readonly string[] = []): void {
    this.ensureDir(nodePath.posix.dirname(path));
    const temp = this.temp();
    const described = this.describe(path);
    this.make(temp, described, source);
    fs.renameSync(temp, this.host(path));
    for (const link of links) {
      this.ensureDir(nodePath.posix.dirname(link));
      this.clear(link);
      fs.linkSync(this.host(path), this.host(link));
    }
  }

  private make(host: string, { stat, xattrs, target }: Described, source: string | undefined): void {
    switch (stat.kind) {
      case 'file':
        if (source === undefined) fs.writeFileSync(host, '', { mode: stat.mode & 0o7777 });
        else fs.copyFileSync(source, host);
        break;
      case 'symlink':
        fs.symlinkSync(target!, host);
        break;
      case 'dir':
        fs.mkdirSync(host, { mode: stat.mode & 0o7777 });
        break;
      default:
        mknod(host, TYPE_BITS[stat.kind] | (stat.mode & 0o7777), devMajor(stat.rdev), devMinor(stat.rdev));
    }
    this.applyMeta(host, stat, xattrs);
  }

  /** Owner, mode, xattrs and times of the union entry onto a host file. */
  applyMeta(host: string, stat: InodeStat, xattrs: ReadonlyMap<string, Uint8Array>): void {
    this.chown(host, stat.uid, stat.gid);
    if (stat.kind !== 'symlink') fs.chmodSync(host, stat.mode & 0o7777);
    for (const [name, value] of xattrs) setXattr(host, name, value);
    fs.lutimesSync(host, seconds(stat.atime), seconds(stat.mtime));
  }

  chown(host: string, uid: number, gid: number): void {
    if (this.options.keepOwners) return;
    const hostUid = uid === -1 ? -1 : this.hostUid(uid);
    const hostGid = gid === -1 ? -1 : this.hostGid(gid);
    fs.lchownSync(host, hostUid, hostGid);
  }

  /**
   * A new entry at `path` (its parents copied up, a whiteout there replaced where `replacing`
   * says one may be). Made with its mode; owner and xattrs written only when they differ from
   * what the server's own creation gives, so a create costs one system call or two. A new file
   * is left open for writing: its descriptor is returned.
   */
  create(path: string, { stat, xattrs, target }: Described, options: { replacing: boolean; opaque?: boolean }): number | undefined {
    this.ensureDir(nodePath.posix.dirname(path));
    if (options.replacing) this.clear(path);
    const host = this.host(path);
    let fd: number | undefined;
    if (stat.kind === 'file') fd = fs.openSync(host, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, stat.mode & 0o7777);
    else if (stat.kind === 'dir') fs.mkdirSync(host, { mode: stat.mode & 0o7777 });
    else if (stat.kind === 'symlink') fs.symlinkSync(target!, host);
    else mknod(host, TYPE_BITS[stat.kind] | (stat.mode & 0o7777), devMajor(stat.rdev), devMinor(stat.rdev));
    if (!this.options.keepOwners && (this.hostUid(stat.uid) !== process.getuid?.() || this.hostGid(stat.gid) !== process.getgid?.())) this.chown(host, stat.uid, stat.gid);
    for (const [name, value] of xattrs) setXattr(host, name, value);
    if (options.opaque) this.setOpaque(path);
    return fd;
  }

  private hostUid(uid: number): number {
    return this.options.uids?.toHost(uid) ?? uid;
  }

  private hostGid(gid: number): number {
    return this.options.gids?.toHost(gid) ?? gid;
  }

  /** A directory at `path` with all the union's metadata: a lower directory moved there. */
  copyDir(path: string): void {
    this.ensureDir(nodePath.posix.dirname(path));
    this.clear(path);
    const temp = this.temp();
    this.make(temp, this.describe(path), undefined);
    fs.renameSync(temp, this.host(path));
  }

  /** Another name for an upper entry. */
  link(existing: string, path: string): void {
    this.ensureDir(nodePath.posix.dirname(path));
    this.clear(path);
    fs.linkSync(this.host(existing), this.host(path));
  }

  /** Removes whatever the upper layer holds at `path` (a whiteout, a file, a directory of whiteouts). */
  clear(path: string): void {
    fs.rmSync(this.host(path), { recursive: true, force: true });
    fs.rmSync(this.host(whiteoutFile(path)), { force: true });
  }

  /** Hides a lower entry: a character device 0/0, or a `.wh.` file where devices cannot be made. */
  whiteout(path: string): void {
    this.ensureDir(nodePath.posix.dirname(path));
    this.clear(path);
    if (this.options.privileged) {
      try {
        mknod(this.host(path), TYPE_BITS.chardev, 0, 0);
        return;
      } catch (error) {
        if (!isErrno(error, 'EPERM')) throw error;
      }
    }
    fs.writeFileSync(this.host(whiteoutFile(path)), '');
  }

  setOpaque(path: string): void {
    setXattr(this.host(path), overlayXattr('opaque', this.options.privileged), Buffer.from('y'));
  }

  /** Records that the directory at `path` continues the lower directory at `origin`. */
  setRedirect(path: string, origin: string): void {
    const name = overlayXattr('redirect', this.options.privileged);
    if (origin === path) removeXattr(this.host(path), name);
    else setXattr(this.host(path), name, Buffer.from(origin));
  }

  setXattr(host: string, name: string, value: Uint8Array): void {
    setXattr(host, name, value);
  }

  removeXattr(host: string, name: string): void {
    removeXattr(host, name);
  }

  rename(from: string, to: string): void {
    this.ensureDir(nodePath.posix.dirname(to));
    this.clear(to);
    fs.renameSync(this.host(from), this.host(to));
  }

}

function whiteoutFile(path: string): string {
  return `${nodePath.posix.dirname(path)}/${WHITEOUT_PREFIX}${nodePath.posix.basename(path)}`.replace(/^\/\//, '/');
}

function seconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

