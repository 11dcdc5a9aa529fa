import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type DirInode, type Inode, Layer, type Meta, NO_XATTRS, TYPE_BITS, WHITEOUT } from '../layer/index.js';
import { DEFAULT_CHUNK_SIZE, toDigest, xxh64 } from '../store/index.js';
import { AUFS_META_PREFIX, OPAQUE_MARKER, OPAQUE_XATTRS, REDIRECT_XATTRS, WHITEOUT_PREFIX, isOverlayXattr } from './format.js';
import type { IdMap } from './ids.js';
import { getXattr, listXattrs } from './xattr.js';

/**
 * A layer read from a directory in overlay format. Its inodes carry metadata only: a file's bytes
 * stay in the directory and are read from `hostPath(ino)`, never copied into a store.
 */
export interface DirLayer {
  /** The directory, absolute. */
  readonly root: string;
  readonly layer: Layer;
  /** The path of inode `ino` inside the directory (one of them, for hard links). */
  hostPath(ino: number): string;
  /** Directories renamed from elsewhere: layer inode to the lower path they continue. */
  readonly redirects: ReadonlyMap<number, string>;
  /** Every whiteout, by its path in the layer. */
  readonly whiteouts: readonly string[];
}

export interface ScanOptions {
  uids?: IdMap;
  gids?: IdMap;
  /** fuse-overlayfs's squash_to_root: everything shows as owned by root. */
  squashToRoot?: boolean;
}

const S_IFMT = 0o170000;
const KINDS = new Map(Object.entries(TYPE_BITS).map(([kind, bits]) => [bits, kind as Inode['kind']]));

interface DraftDir {
  meta: Meta;
  opaque: boolean;
  children: Map<string, number>;
}

/**
 * Reads a directory in overlay format into a layer: whiteouts (character devices 0/0 and
 * `.wh.NAME` files) become whiteout entries, opaque marks an opaque directory, redirects are kept
 * for the image. Hard links (one device and inode number) are one inode, as in any layer.
 */
export function scanDirLayer(root: string, options: ScanOptions = {}): DirLayer {
  root = nodePath.resolve(root);
  const inodes: (Inode | undefined)[] = [undefined];
  const paths: string[] = [''];
  const redirects = new Map<number, string>();
  const whiteouts: string[] = [];
  const linked = new Map<string, number>();
  const drafts: { ino: number; draft: DraftDir }[] = [];

  const metaOf = (stat: fs.BigIntStats, hostPath: string): Meta => {
    const xattrs = readXattrs(hostPath);
    const uid = options.squashToRoot ? 0 : (options.uids?.toContainer(Number(stat.uid)) ?? Number(stat.uid));
    const gid = options.squashToRoot ? 0 : (options.gids?.toContainer(Number(stat.gid)) ?? Number(stat.gid));
    return { mode: Number(stat.mode) & 0o7777, uid, gid, atime: stat.atimeNs, mtime: stat.mtimeNs, ctime: stat.ctimeNs, xattrs };
  };

  const visitDir = (hostPath: string, layerPath: string, stat: fs.BigIntStats): number => {
    const ino = inodes.length;
    const draft: DraftDir = { meta: metaOf(stat, hostPath), opaque: isOpaque(hostPath), children: new Map() };
    inodes.push(undefined);
    paths.push(nodePath.relative(root, hostPath));
    drafts.push({ ino, draft });
    const redirect = readRedirect(hostPath);
    if (redirect !== undefined) redirects.set(ino, redirect.startsWith('/') ? redirect : `${nodePath.posix.dirname(layerPath)}/${redirect}`.replace(/^\/\//, '/'));
    const names = fs.readdirSync(hostPath).sort();
    for (const name of names) {
      const childHost = `${hostPath}/${name}`;
      const childPath = layerPath === '/' ? `/${name}` : `${layerPath}/${name}`;
      if (name === OPAQUE_MARKER) {
        draft.opaque = true;
        continue;
      }
      if (name.startsWith(AUFS_META_PREFIX)) continue;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        const hidden = name.slice(WHITEOUT_PREFIX.length);
        if (!draft.children.has(hidden)) draft.children.set(hidden, WHITEOUT);
        whiteouts.push(layerPath === '/' ? `/${hidden}` : `${layerPath}/${hidden}`);
        continue;
      }
      const childStat = fs.lstatSync(childHost, { bigint: true });
      const kind = KINDS.get(Number(childStat.mode) & S_IFMT);
      if (!kind) continue;
      if (kind === 'chardev' && childStat.rdev === 0n) {
        draft.children.set(name, WHITEOUT);
        whiteouts.push(childPath);
        continue;
      }
      if (kind === 'dir') {
        draft.children.set(name, visitDir(childHost, childPath, childStat));
        continue;
      }
      const key = `${childStat.dev}:${childStat.ino}`;
      const known = childStat.nlink > 1n ? linked.get(key) : undefined;
      if (known !== undefined) {
        draft.children.set(name, known);
        continue;
      }
      const child = inodes.length;
      inodes.push(leaf(kind, childStat, childHost, metaOf(childStat, childHost)));
      paths.push(nodePath.relative(root, childHost));
      if (childStat.nlink > 1n) linked.set(key, child);
      draft.children.set(name, child);
    }
    return ino;
  };

  const rootStat = fs.statSync(root, { bigint: true });
  if (!rootStat.isDirectory()) throw Object.assign(new Error(`${root} is not a directory`), { code: 'ENOTDIR' });
  visitDir(root, '/', rootStat);
  for (const { ino, draft } of drafts) {
    const dir: DirInode = { kind: 'dir', ...draft.meta, opaque: draft.opaque, children: draft.children };
    inodes[ino] = dir;
  }
  const layer = new Layer(toDigest(xxh64(Buffer.from(`overlay-dir:${root}`))), inodes);
  return {
    root,
    layer,
    hostPath: (ino) => nodePath.join(root, paths[ino] ?? ''),
    redirects,
    whiteouts,
  };
}

function leaf(kind: Exclude<Inode['kind'], 'dir'>, stat: fs.BigIntStats, hostPath: string, meta: Meta): Exclude<Inode, DirInode> {
  switch (kind) {
    case 'file':
      // The bytes stay in the directory: the content records only the size.
      return { kind, ...meta, content: { size: Number(stat.size), chunkSize: DEFAULT_CHUNK_SIZE, chunks: [] } };
    case 'symlink':
      return { kind, ...meta, target: fs.readlinkSync(hostPath, 'utf8') };
    case 'chardev':
    case 'blockdev':
      return { kind, ...meta, rdev: Number(stat.rdev) };
    default:
      return { kind, ...meta };
  }
}

/** A file's own extended attributes, overlayfs's bookkeeping left out. */
function readXattrs(hostPath: string): ReadonlyMap<string, Uint8Array> {
  const names = listXattrs(hostPath).filter((name) => !isOverlayXattr(name));
  if (names.length === 0) return NO_XATTRS;
  const xattrs = new Map<string, Uint8Array>();
  for (const name of names) {
    const value = getXattr(hostPath, name);
    if (value !== undefined) xattrs.set(name, value);
  }
  return xattrs;
}

function isOpaque(hostPath: string): boolean {
  return OPAQUE_XATTRS.some((name) => getXattr(hostPath, name)?.toString() === 'y');
}

function readRedirect(hostPath: string): string | undefined {
  for (const name of REDIRECT_XATTRS) {
    const value = getXattr(hostPath, name);
    if (value !== undefined) return value.toString('utf8');
  }
  return undefined;
}

