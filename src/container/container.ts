import { type Inode, type Layer, LayerBuilder } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import { fileDataContent } from '../union/file-data.js';
import { Image } from '../union/image.js';
import type { UpperInode } from '../union/upper.js';
import { UnionView, type UnionViewOptions, type UpperState } from '../union/view.js';
import { CowMap } from '../union/cow-map.js';
import { type DirEdits, type UpperDelta, decodeUpper, encodeUpper } from './upper-codec.js';
import { FormatError } from '../layer/codec.js';
import { type Change, compareViews } from './walk.js';

/**
 * A writable union over an image: the image's layers stay shared and untouched, every change goes
 * to the container's private upper layer. Creating one costs nothing beyond an empty map; `fork`
 * shares the upper layer copy-on-write; `commit` turns the changes into a new layer.
 */
export class Container extends UnionView {
  constructor(image: Image, store: BlobStore, options: Omit<UnionViewOptions, 'readOnly'> = {}, state?: UpperState) {
    super(image, store, options, state);
  }

  /** The image as it is, read-only (writes answer EROFS). */
  static view(image: Image, store: BlobStore): UnionView {
    return new UnionView(image, store, { readOnly: true });
  }

  /** A new container with this one's current tree, in O(1): both share what exists now. */
  fork(): Container {
    this.flush();
    const [mine, theirs] = this.upper.fork();
    this.upper = mine;
    return new Container(this.image, this.store, { chunkSize: this.chunkSize }, { upper: theirs, nextIno: this.nextIno });
  }

  /** Paths added, changed and deleted relative to the image, parents first (like `docker diff`). */
  diff(): Change[] {
    this.flush();
    const natural = Container.view(this.image, this.store);
    return [...compareViews(this, natural, (ino) => this.upper.has(ino))];
  }

  /** The upper layer as bytes (flushed first): what this container adds to the store. */
  saveUpper(): Uint8Array {
    this.flush();
    return encodeUpper(this.upper.entries(), this.nextIno);
  }

  /**
   * The container as it is now (saved whole, or just loaded) is the base that saveChanges' deltas
   * apply to: changes are noted from here on.
   */
  startIncrementalSaves(): void {
    this.trackChanges();
    this.takeChanged();
  }

  /**
   * What changed since startIncrementalSaves or the last saveChanges (flushed first), for an
   * incremental save: applied to what was saved then, it gives the upper layer saveUpper would give now.
   */
  saveChanges(): UpperDelta {
    this.flush();
    const delta: UpperDelta = { entries: [], removed: [], nextIno: this.nextIno, edited: new Map() };
    const { inodes, names, whole } = this.takeChanged();
    for (const ino of inodes) {
      const inode = this.upper.get(ino);
      if (!inode) {
        delta.removed.push(ino);
        continue;
      }
      delta.entries.push([ino, inode]);
      // A directory saved before: its changed names alone.
      if (inode.kind === 'dir' && !whole.has(ino)) delta.edited.set(ino, new Map([...(names.get(ino) ?? [])].map((name) => [name, inode.entries.get(name)])));
    }
    return delta;
  }

  /** A container of `image` with an upper layer saved by `saveUpper`, and the deltas saved after it, in order. */
  static load(image: Image, store: BlobStore, upper: Uint8Array | null, options: Omit<UnionViewOptions, 'readOnly'> = {}, deltas: readonly UpperDelta[] = []): Container {
    const saved = upper === null ? { entries: [], nextIno: image.firstFreeIno, edited: new Map() } : decodeUpper(upper, image);
    if (saved.edited.size > 0) throw new FormatError('a saved upper layer holds directory edits (only a journal\'s deltas may)');
    const inodes = new Map<number, UpperInode>(saved.entries);
    let nextIno = saved.nextIno;
    for (const delta of deltas) {
      for (const ino of delta.removed) inodes.delete(ino);
      for (const [ino, inode] of delta.entries) inodes.set(ino, withEdits(inode, inodes.get(ino), delta.edited.get(ino)));
      nextIno = Math.max(nextIno, delta.nextIno);
    }
    const map = new CowMap<number, UpperInode>();
    // An inode with no name left was an open file deleted before the save: nothing can reach it.
    for (const [ino, inode] of inodes) if (inode.kind === 'dir' || inode.nlink > 0) map.set(ino, inode);
    return new Container(image, store, options, { upper: map, nextIno });
  }

  /** How many inodes the upper layer holds: what this container has changed. */
  get upperSize(): number {
    return this.upper.size;
  }

  /**
   * The changes as a new immutable layer (whiteouts and opaque directories kept, file data shared
   * chunk by chunk) and the image that puts it on top. A container of that image shows exactly
   * this container's tree.
   */
  commit(): { layer: Layer; image: Image } {
    const builder = new LayerBuilder(this.store, { chunkSize: this.chunkSize });
    const emitted = new Map<number, Exclude<Inode, { kind: 'dir' }>>();
    const dirsDone = new Set<string>();
    for (const change of this.diff()) {
      this.emitParents(builder, change.path, dirsDone);
      if (change.kind === 'deleted') {
        builder.whiteout(change.path);
        continue;
      }
      const ino = change.ino!;
      const inode = this.upper.get(ino) ?? this.image.inode(ino)!;
      if (inode.kind === 'dir') {
        builder.dir(change.path, metaOf(inode), { opaque: change.opaque ?? false });
        dirsDone.add(change.path);
        continue;
      }
      // One inode, one object: names of the same inode stay hard links in the new layer.
      let frozen = emitted.get(ino);
      if (!frozen) emitted.set(ino, (frozen = freeze(this.store, inode)));
      builder.put(change.path, frozen);
    }
    this.emitHiddenLinks(builder, emitted);
    const layer = builder.build();
    return { layer, image: new Image([...this.image.layers, layer]) };
  }

  /**
   * Directories above a change carry the container's metadata into the layer: the top part of a
   * merged directory decides its mode, owner and times, so a default would overwrite them.
   */
  private emitParents(builder: LayerBuilder, path: string, done: Set<string>): void {
    const names = path.split('/').slice(1, -1);
    for (let depth = 0; depth <= names.length; depth++) {
      const dir = `/${names.slice(0, depth).join('/')}`;
      if (done.has(dir)) continue;
      done.add(dir);
      builder.dir(dir, metaOf(this.inode(this.resolve(dir, { follow: false }))));
    }
  }

  /**
   * A changed inode with hard links in the image has names the diff did not list (they are
   * unchanged entries): they must point at the new copy too, or the link would break.
   */
  private emitHiddenLinks(builder: LayerBuilder, emitted: Map<number, Exclude<Inode, { kind: 'dir' }>>): void {
    for (const [ino, frozen] of emitted) {
      const where = this.image.origin(ino);
      if (!where || this.image.nlink(ino) < 2) continue;
      for (const path of this.image.layers[where.layer]!.pathsOf(where.ino)) {
        if (this.exists(path, { follow: false }) && this.resolve(path, { follow: false }) === ino) builder.put(path, frozen);
      }
    }
  }
}

function metaOf(inode: UpperInode | Inode) {
  const { mode, uid, gid, atime, mtime, ctime, xattrs } = inode;
  return { mode, uid, gid, atime, mtime, ctime, xattrs: new Map(xattrs) };
}

function freeze(store: BlobStore, inode: UpperInode | Inode): Exclude<Inode, { kind: 'dir' }> {
  const meta = metaOf(inode);
  switch (inode.kind) {
    case 'file':
      return { kind: 'file', ...meta, content: 'data' in inode ? fileDataContent(store, inode.data) : inode.content };
    case 'symlink':
      return { kind: 'symlink', ...meta, target: inode.target };
    case 'chardev':
    case 'blockdev':
      return { kind: inode.kind, ...meta, rdev: inode.rdev };
    case 'fifo':
    case 'socket':
      return { kind: inode.kind, ...meta };
    case 'dir':
      throw new Error('directories are not frozen');
  }
}

/** A directory of a delta that carries only its changed names: those applied to its names as saved before. */
function withEdits(inode: UpperInode, before: UpperInode | undefined, edits: DirEdits | undefined): UpperInode {
  if (!edits) return inode;
  if (inode.kind !== 'dir' || before?.kind !== 'dir') throw new FormatError(`directory edits of inode ${inode.kind === 'dir' ? 'with no directory saved before' : 'that is not a directory'}`);
  // The earlier map came from decoding the saved layers: this container's own to change.
  for (const [name, child] of edits) {
    if (child === undefined) before.entries.delete(name);
    else before.entries.set(name, child);
  }
  return { ...inode, entries: before.entries };
}
