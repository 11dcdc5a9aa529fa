import { type DirInode, type Inode, Layer, type Meta, ROOT, WHITEOUT } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';

/**
 * Layers from docker and umoci often leave parents out (`etc/.wh.shadow` without `etc/`, no
 * `./`). Extracted onto the lower tree, such a layer leaves those directories as they were; in a
 * union the topmost part of a merged directory gives its metadata, so a default-made parent would
 * reset /etc to mode 755 and time 0. This gives those directories the metadata they have in the
 * layers below, as extraction would.
 */
export function inheritLowerMeta(store: BlobStore, layer: Layer, implicitDirs: readonly string[], below: readonly Layer[]): Layer {
  if (implicitDirs.length === 0 || below.length === 0) return layer;
  const inodes: (Inode | undefined)[] = [undefined];
  for (let ino = ROOT; ino <= layer.size; ino++) inodes.push(layer.inode(ino));
  let changed = false;
  for (const path of implicitDirs) {
    const ino = layer.lookup(path);
    const meta = lowerDirMeta(below, path);
    const inode = ino === undefined || ino === WHITEOUT ? undefined : inodes[ino];
    if (!meta || inode?.kind !== 'dir') continue;
    const { mode, uid, gid, atime, mtime, ctime, xattrs } = meta;
    inodes[ino!] = { ...inode, mode, uid, gid, atime, mtime, ctime, xattrs } satisfies DirInode;
    changed = true;
  }
  return changed ? Layer.store(store, inodes) : layer;
}

/**
 * The metadata of the directory at `path` in the union of `layers` (bottom first): the topmost
 * layer's, unless a whiteout, a non-directory or an opaque directory on the way hides the ones
 * below. Undefined when the union has no directory there.
 */
export function lowerDirMeta(layers: readonly Layer[], path: string): Meta | undefined {
  const names = path.split('/').filter((name) => name !== '');
  for (let index = layers.length - 1; index >= 0; index--) {
    const layer = layers[index]!;
    let ino: number = ROOT;
    let hidesBelow = (layer.inode(ROOT) as DirInode).opaque;
    let found = true;
    for (const name of names) {
      const child = layer.child(ino, name);
      if (child === undefined) {
        found = false;
        break;
      }
      if (child === WHITEOUT) return undefined;
      const inode = layer.inode(child);
      if (inode.kind !== 'dir') return undefined;
      hidesBelow ||= inode.opaque;
      ino = child;
    }
    if (found) return layer.inode(ino);
    if (hidesBelow) return undefined;
  }
  return undefined;
}
