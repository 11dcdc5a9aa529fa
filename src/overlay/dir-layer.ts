import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type DirInode, type Inode, Layer, type LayerId, type Meta, NO_XATTRS, ROOT, TYPE_BITS, WHITEOUT } from '../layer/index.js';
import { DEFAULT_CHUNK_SIZE, toDigest, xxh64 } from '../store/index.js';
import { AUFS_META_PREFIX, OPAQUE_MARKER, OPAQUE_XATTRS, REDIRECT_XATTRS, WHITEOUT_PREFIX, isOverlayXattr } from './format.js';
import type { IdMap } from './ids.js';
import { type ScannedEntry, getXattr, listXattrs, scanDir } from './xattr.js';

/**
 * A layer read from a directory in overlay format. Its inodes carry metadata only: a file's bytes
 * stay in the directory and are read from `hostPath(ino)`, never copied into a store. A lower
 * layer is read lazily, a directory at a time when the union first looks into it (as
 * fuse-overlayfs does), so a mount goes live without walking the tree.
 */
export interface DirLayer {
  /** The directory, absolute. */
  readonly root: string;
  readonly layer: Layer;
  /** The path of inode `ino` inside the directory (one of them, for hard links). */
  hostPath(ino: number): string;
  /** Directories renamed from elsewhere: layer inode to the lower path they continue (known once the directory was reached). */
  readonly redirects: ReadonlyMap<number, string>;
  /** Every whiteout, by its path in the layer: one walk of the directories (names and types only). */
  whiteouts(): readonly string[];
  /** Reads every directory not read yet: the whole tree is then in memory. */
  loadAll(): void;
  /** Reads a few directories not read yet, for about `millis` ms: whether any is left. */
  loadSome(millis: number): boolean;
}

export interface ScanOptions {
  uids?: IdMap;
  gids?: IdMap;
  /** fuse-overlayfs's squash_to_root: everything shows as owned by root. */
  squashToRoot?: boolean;
  /** Read every directory now (an upper directory, which the mount changes as it goes). */
  eager?: boolean;
}

/**
 * Inode numbers one directory layer may hand out: the image numbers its layers by fixed offsets,
 * and a lazily read layer does not know its size in advance.
 */
const CAPACITY = 2 ** 32;
const S_IFMT = 0o170000;
const KINDS = new Map(Object.entries(TYPE_BITS).map(([kind, bits]) => [bits, kind as Inode['kind']]));

/** A layer whose inodes are added as its directories are read. */
class LazyLayer extends Layer {
  constructor(
    id: LayerId,
    inodes: readonly (Inode | undefined)[],
    private readonly reader: DirReader,
  ) {
    super(id, inodes);
  }

  override get size(): number {
    return CAPACITY - 1;
  }

  /** Names of a file in the layer, as its directory entry's link count says. */
  override nlink(ino: number): number {
    return this.reader.nlinks[ino] ?? 1;
  }

  override pathsOf(ino: number): readonly string[] {
    return this.reader.pathsOf(ino);
  }
}

/** Reads an overlay-format directory into a LazyLayer, one directory at a time. */
class DirReader implements DirLayer {
  readonly layer: LazyLayer;
  readonly redirects = new Map<number, string>();
  private readonly inodes: (Inode | undefined)[] = [undefined];
  /** Each inode's path relative to the root ('' for the root). */
  private readonly paths: string[] = [''];
  /** Host link counts of non-directories. */
  readonly nlinks: number[] = [];
  /** Hard-linked files seen, by device and inode number, and all their names so far. */
  private readonly linked = new Map<string, number>();
  private readonly linkNames = new Map<number, string[]>();
  /** Directories known but not read yet, in the order they were found. */
  private readonly unread: number[] = [];
  private readonly read = new Set<number>();
  private readonly loaders = new Map<number, () => void>();

  constructor(
    readonly root: string,
    private readonly options: ScanOptions,
  ) {
    this.layer = new LazyLayer(toDigest(xxh64(Buffer.from(`overlay-dir:${root}`))), this.inodes, this);
    const stat = fs.statSync(root, { bigint: true });
    if (!stat.isDirectory()) throw Object.assign(new Error(`${root} is not a directory`), { code: 'ENOTDIR' });
    this.addDir('', '/', {
      name: '',
      mode: Number(stat.mode),
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      nlink: Number(stat.nlink),
      id: `${stat.dev}:${stat.ino}`,
      rdev: 0,
      size: Number(stat.size),
      atime: stat.atimeNs,
      mtime: stat.mtimeNs,
      ctime: stat.ctimeNs,
      xattrs: listXattrs(root),
    });
    if (options.eager) this.loadAll();
  }

  hostPath(ino: number): string {
    const relative = this.paths[ino] ?? '';
    return relative === '' ? this.root : `${this.root}/${relative}`;
  }

  pathsOf(ino: number): readonly string[] {
    if (ino === ROOT) return [];
    if ((this.nlinks[ino] ?? 1) > 1) {
      // Another name may sit in a directory not read yet.
      this.loadAll();
      return this.linkNames.get(ino) ?? [];
    }
    const relative = this.paths[ino];
    return relative === undefined ? [] : [`/${relative}`];
  }

  loadAll(): void {
    while (this.loadSome(Infinity));
  }

  loadSome(millis: number): boolean {
    const until = performance.now() + millis;
    while (this.unread.length > 0) {
      const ino = this.unread.pop()!;
      if (!this.read.has(ino)) this.loaders.get(ino)!();
      if (performance.now() >= until) break;
    }
    return this.unread.length > 0;
  }

  whiteouts(): readonly string[] {
    const found: string[] = [];
    const walk = (host: string, layerPath: string) => {
      for (const entry of fs.readdirSync(host, { withFileTypes: true })) {
        const path = layerPath === '/' ? `/${entry.name}` : `${layerPath}/${entry.name}`;
        if (entry.name === OPAQUE_MARKER || entry.name.startsWith(AUFS_META_PREFIX)) continue;
        if (entry.name.startsWith(WHITEOUT_PREFIX)) found.push(`${layerPath === '/' ? '' : layerPath}/${entry.name.slice(WHITEOUT_PREFIX.length)}`);
        else if (entry.isCharacterDevice() && fs.lstatSync(`${host}/${entry.name}`).rdev === 0) found.push(path);
        else if (entry.isDirectory()) walk(`${host}/${entry.name}`, path);
      }
    };
    walk(this.root, '/');
    return found;
  }

  private metaOf(entry: ScannedEntry, host: string): Meta {
    const { uids, gids, squashToRoot } = this.options;
    const uid = squashToRoot ? 0 : (uids?.toContainer(entry.uid) ?? entry.uid);
    const gid = squashToRoot ? 0 : (gids?.toContainer(entry.gid) ?? entry.gid);
    const xattrs = ownXattrs(host, entry.xattrs);
    return { mode: entry.mode & 0o7777, uid, gid, atime: entry.atime, mtime: entry.mtime, ctime: entry.ctime, xattrs };
  }

  /**
   * A directory's inode, its entries read on first use. Opaque by xattr is known now; by a
   * `.wh..wh..opq` entry only once it is read, so asking whether it is opaque reads it.
   */
  private addDir(relative: string, layerPath: string, entry: ScannedEntry): number {
    const ino = this.inodes.length;
    const host = relative === '' ? this.root : `${this.root}/${relative}`;
    const meta = this.metaOf(entry, host);
    const names = entry.xattrs;
    const opaqueByXattr = OPAQUE_XATTRS.some((name) => names.includes(name) && getXattr(host, name)?.toString() === 'y');
    const redirectName = REDIRECT_XATTRS.find((name) => names.includes(name));
    const redirect = redirectName === undefined ? undefined : getXattr(host, redirectName)?.toString('utf8');
    if (redirect !== undefined) this.redirects.set(ino, redirect.startsWith('/') ? redirect : `${nodePath.posix.dirname(layerPath)}/${redirect}`.replace(/^\/\//, '/'));
    let children: Map<string, number> | undefined;
    let opaqueByMarker = false;
    const load = () => {
      if (children) return;
      this.read.add(ino);
      children = new Map();
      opaqueByMarker = this.readDir(host, relative, layerPath, children);
    };
    this.loaders.set(ino, load);
    const dir: DirInode = {
      kind: 'dir',
      ...meta,
      get opaque() {
        if (opaqueByXattr) return true;
        load();
        return opaqueByMarker;
      },
      get children() {
        load();
        return children!;
      },
    };
    this.inodes.push(dir);
    this.paths.push(relative);
    this.unread.push(ino);
    return ino;
  }

  /** Reads a directory's entries into `children`: whether it holds the opaque marker. */
  private readDir(host: string, relative: string, layerPath: string, children: Map<string, number>): boolean {
    let opaque = false;
    const entries = scanDir(host).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const { name } = entry;
      const childHost = `${host}/${name}`;
      const childRelative = relative === '' ? name : `${relative}/${name}`;
      if (name === OPAQUE_MARKER) {
        opaque = true;
        continue;
      }
      if (name.startsWith(AUFS_META_PREFIX)) continue;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        const hidden = name.slice(WHITEOUT_PREFIX.length);
        if (!children.has(hidden)) children.set(hidden, WHITEOUT);
        continue;
      }
      const kind = KINDS.get(entry.mode & S_IFMT);
      if (!kind) continue;
      if (kind === 'chardev' && entry.rdev === 0) {
        children.set(name, WHITEOUT);
        continue;
      }
      if (kind === 'dir') {
        children.set(name, this.addDir(childRelative, layerPath === '/' ? `/${name}` : `${layerPath}/${name}`, entry));
        continue;
      }
      const known = entry.nlink > 1 ? this.linked.get(entry.id) : undefined;
      if (known !== undefined) {
        children.set(name, known);
        this.linkNames.get(known)!.push(`/${childRelative}`);
        continue;
      }
      const ino = this.inodes.length;
      this.inodes.push(leaf(kind, entry, childHost, this.metaOf(entry, childHost)));
      this.paths.push(childRelative);
      this.nlinks[ino] = entry.nlink;
      if (entry.nlink > 1) {
        this.linked.set(entry.id, ino);
        this.linkNames.set(ino, [`/${childRelative}`]);
      }
      children.set(name, ino);
    }
    return opaque;
  }
}

/**
 * Reads a directory in overlay format as a layer: whiteouts (character devices 0/0 and `.wh.NAME`
 * files) become whiteout entries, opaque marks an opaque directory, redirects are kept for the
 * image. Hard links (one device and inode number) are one inode, as in any layer. Directories are
 * read as the union first looks into them, unless `eager`.
 */
export function scanDirLayer(root: string, options: ScanOptions = {}): DirLayer {
  return new DirReader(nodePath.resolve(root), options);
}

function leaf(kind: Exclude<Inode['kind'], 'dir'>, entry: ScannedEntry, hostPath: string, meta: Meta): Exclude<Inode, DirInode> {
  switch (kind) {
    case 'file':
      // The bytes stay in the directory: the content records only the size.
      return { kind, ...meta, content: { size: entry.size, chunkSize: DEFAULT_CHUNK_SIZE, chunks: [] } };
    case 'symlink':
      return { kind, ...meta, target: fs.readlinkSync(hostPath, 'utf8') };
    case 'chardev':
    case 'blockdev':
      return { kind, ...meta, rdev: entry.rdev };
    default:
      return { kind, ...meta };
  }
}

/** A file's own extended attributes (of `names`, its listxattr), overlayfs's bookkeeping left out. */
function ownXattrs(hostPath: string, names: readonly string[]): ReadonlyMap<string, Uint8Array> {
  const own = names.filter((name) => !isOverlayXattr(name));
  if (own.length === 0) return NO_XATTRS;
  const xattrs = new Map<string, Uint8Array>();
  for (const name of own) {
    const value = getXattr(hostPath, name);
    if (value !== undefined) xattrs.set(name, value);
  }
  return xattrs;
}
