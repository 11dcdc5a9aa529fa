import { type Inode, type Layer, WHITEOUT, devMajor, devMinor } from '../layer/index.js';
import { type BlobStore, type Content, chunkCount, readChunk } from '../store/index.js';
import { gzip } from './compression.js';
import { ImageError } from './errors.js';
import { type TarWriteEntry, writeTar } from './tar.js';
import { OPAQUE_MARKER, isMarkerName, whiteoutName } from './whiteout.js';

export interface LayerExportOptions {
  /**
   * 'mtime' (the default) writes modification times only, as docker and buildkit write layers
   * (ctime moves on every chmod, so keeping it would make layers differ for nothing); 'all' adds
   * atime and ctime in PAX records, so a layerfs import gives back the very same layer id.
   */
  times?: 'mtime' | 'all';
  /** Told about entries a tar cannot hold (sockets), which are left out, as GNU tar does. */
  onSkip?: (path: string, reason: string) => void;
}

/**
 * The members of an OCI layer tarball for a layer: the root as `./`, then every entry depth
 * first in name order (the layer's canonical order, so the same tree gives the same members);
 * whiteouts as empty `.wh.NAME` files, opaque directories followed by their `.wh..wh..opq`, the
 * second and later names of an inode as hard links to the first. Times, owners, modes with
 * setuid/setgid/sticky, devices and xattrs (SCHILY.xattr) are kept; uname/gname stay empty, as
 * a layer has no user database.
 */
export function* layerTarEntries(store: BlobStore, layer: Layer, options: LayerExportOptions = {}): Generator<TarWriteEntry> {
  const firstName = new Map<number, string>();
  yield* entriesOf(store, '.', layer.root, options);
  for (const [path, ino] of layer.walk()) {
    const name = path.slice(1);
    const base = name.slice(name.lastIndexOf('/') + 1);
    if (isMarkerName(base)) {
      throw new ImageError('EUNSUPPORTED', `${path} cannot be written to an OCI layer: names starting with .wh. mean whiteouts there`);
    }
    if (ino === WHITEOUT) {
      yield { path: parentPrefix(name) + whiteoutName(base), type: 'file', mode: 0o644 };
      continue;
    }
    const inode = layer.inode(ino);
    if (inode.kind === 'socket') {
      options.onSkip?.(path, 'a tar archive cannot hold a socket');
      continue;
    }
    const first = firstName.get(ino);
    if (first !== undefined) {
      yield { path: name, type: 'link', linkpath: first, mode: inode.mode, uid: inode.uid, gid: inode.gid, mtime: inode.mtime };
      continue;
    }
    if (inode.kind !== 'dir' && layer.nlink(ino) > 1) firstName.set(ino, name);
    yield* entriesOf(store, name, inode, options);
  }
}

function* entriesOf(store: BlobStore, name: string, inode: Inode, options: LayerExportOptions): Generator<TarWriteEntry> {
  const meta = {
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    mtime: inode.mtime,
    ...(options.times === 'all' ? { atime: inode.atime, ctime: inode.ctime } : {}),
    ...(inode.xattrs.size > 0 ? { xattrs: inode.xattrs } : {}),
  };
  switch (inode.kind) {
    case 'dir':
      yield { path: name === '.' ? './' : name, type: 'dir', ...meta };
      if (inode.opaque) yield { path: `${name === '.' ? '' : `${name}/`}${OPAQUE_MARKER}`, type: 'file', mode: 0o644 };
      return;
    case 'file':
      yield { path: name, type: 'file', ...meta, size: inode.content.size, data: contentChunks(store, inode.content) };
      return;
    case 'symlink':
      yield { path: name, type: 'symlink', ...meta, linkpath: inode.target };
      return;
    case 'chardev':
    case 'blockdev':
      yield { path: name, type: inode.kind, ...meta, devmajor: devMajor(inode.rdev), devminor: devMinor(inode.rdev) };
      return;
    case 'fifo':
      yield { path: name, type: 'fifo', ...meta };
      return;
    case 'socket':
      return;
  }
}

/** A file's bytes chunk by chunk, holes as zeros: one chunk in memory at a time. */
function* contentChunks(store: BlobStore, content: Content): Generator<Uint8Array> {
  const count = chunkCount(content.size, content.chunkSize);
  for (let index = 0; index < count; index++) yield readChunk(store, content, index);
}

function parentPrefix(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash === -1 ? '' : name.slice(0, slash + 1);
}

/** The layer as an uncompressed tar stream (a diff id is the sha256 of these bytes). */
export function layerTar(store: BlobStore, layer: Layer, options: LayerExportOptions = {}): AsyncGenerator<Uint8Array> {
  return writeTar(layerTarEntries(store, layer, options));
}

/** The layer as a gzip tar stream (`application/vnd.oci.image.layer.v1.tar+gzip`), byte-identical for the same tree. */
export function layerTarGzip(store: BlobStore, layer: Layer, options: LayerExportOptions = {}): AsyncGenerator<Uint8Array> {
  return gzip(layerTar(store, layer, options));
}
