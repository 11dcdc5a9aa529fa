import { type BlobStore, type Digest, contentDigests } from '../store/index.js';
import { decodeLayer, encodeLayer } from './encode.js';
import { type DirInode, type Inode, ROOT, WHITEOUT } from './inode.js';

export type LayerId = Digest;

/**
 * An immutable tree of inodes, numbered 1..n with the root at 1. Hard links are several names of
 * one inode number. Its id is the digest of its canonical encoding, which is stored as a blob.
 */
export class Layer {
  private reverse: Map<number, string[]> | undefined;
  private links: Uint32Array | undefined;

  constructor(
    readonly id: LayerId,
    private readonly inodes: readonly (Inode | undefined)[],
  ) {}

  /** Stores the encoding of canonically numbered inodes and returns the layer. */
  static store(store: BlobStore, inodes: readonly (Inode | undefined)[]): Layer {
    return new Layer(store.put(encodeLayer(inodes)), inodes);
  }

  /** Reads and validates a stored layer (FormatError on malformed bytes, BlobError on a bad blob). */
  static load(store: BlobStore, id: LayerId): Layer {
    return new Layer(id, decodeLayer(store.get(id)));
  }

  /** Number of inodes (the highest inode number). */
  get size(): number {
    return this.inodes.length - 1;
  }

  get root(): DirInode {
    return this.inodes[ROOT] as DirInode;
  }

  inode(ino: number): Inode {
    const inode = this.inodes[ino];
    if (!inode) throw new RangeError(`layer ${this.id} has no inode ${ino}`);
    return inode;
  }

  /** The child's inode number, WHITEOUT, or undefined when the directory has no such name. */
  child(dir: number, name: string): number | undefined {
    const inode = this.inodes[dir];
    return inode?.kind === 'dir' ? inode.children.get(name) : undefined;
  }

  /** How many names the inode has in this layer. */
  nlink(ino: number): number {
    if (!this.links) {
      this.links = new Uint32Array(this.inodes.length);
      this.links[ROOT] = 1;
      for (const inode of this.inodes) {
        if (inode?.kind === 'dir') for (const child of inode.children.values()) this.links[child]!++;
      }
    }
    return this.links[ino] ?? 0;
  }

  /** Every path of an inode in this layer (several for hard links), built once on demand. */
  pathsOf(ino: number): readonly string[] {
    if (!this.reverse) {
      this.reverse = new Map();
      for (const [path, child] of this.walk()) {
        const list = this.reverse.get(child);
        if (list) list.push(path);
        else this.reverse.set(child, [path]);
      }
    }
    return this.reverse.get(ino) ?? [];
  }

  /** Depth-first [path, ino] pairs in name order, whiteouts included (ino 0), root excluded. */
  *walk(dir = ROOT, prefix = ''): Iterable<[string, number]> {
    const inode = this.inodes[dir];
    if (inode?.kind !== 'dir') return;
    for (const name of [...inode.children.keys()].sort()) {
      const child = inode.children.get(name)!;
      const path = `${prefix}/${name}`;
      yield [path, child];
      if (child !== WHITEOUT) yield* this.walk(child, path);
    }
  }

  /** The inode at a path, following no symlinks; WHITEOUT or undefined when absent. */
  lookup(path: string): number | undefined {
    let ino = ROOT;
    for (const name of path.split('/')) {
      if (name === '') continue;
      const next = this.child(ino, name);
      if (next === undefined || next === WHITEOUT) return next;
      ino = next;
    }
    return ino;
  }

  /** The layer's own blob and every content blob it references. */
  digests(): Set<Digest> {
    const all = new Set<Digest>([this.id]);
    for (const inode of this.inodes) {
      if (inode?.kind === 'file') for (const digest of contentDigests(inode.content)) all.add(digest);
    }
    return all;
  }

  /** Logical bytes of file content (each inode once). */
  contentBytes(): number {
    let total = 0;
    for (const inode of this.inodes) if (inode?.kind === 'file') total += inode.content.size;
    return total;
  }
}
