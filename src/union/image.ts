import type { DirInode, Inode, Layer } from '../layer/index.js';
import { ROOT, WHITEOUT } from '../layer/index.js';

/** Container inode number of the merged root directory. */
export const ROOT_INO = 1;

/**
 * An ordered stack of immutable layers (bottom first) and the read-only union of them: lookups
 * fall through the layers top to bottom, a whiteout hides a name, an opaque directory or a
 * non-directory hides everything below it.
 *
 * Every inode of every layer has a number in the union: the layer's offset plus its number inside
 * the layer, so numbers are stable, need no table, and hard links in a layer share one. A merged
 * directory takes the number of its topmost part; its parts in lower layers are its "lowers".
 * Merged name indexes are built once per directory and shared by every container of the image,
 * so a lookup costs the same over 1 layer or 128.
 */
export interface ImageOptions {
  /**
   * A directory renamed in a layer that continues a lower directory of another path (overlayfs's
   * redirect): that path, from the root, for a layer's inode. Lower parts are found there.
   */
  redirect?: (layer: number, ino: number) => string | undefined;
}

export class Image {
  readonly layers: readonly Layer[];
  private readonly redirect: ImageOptions['redirect'];
  /** The first inode number free for containers' new inodes. */
  readonly firstFreeIno: number;
  private readonly offsets: number[];
  private readonly lowersOf = new Map<number, readonly number[]>();
  private readonly merged = new Map<number, ReadonlyMap<string, number>>();
  private readonly dirLinks = new Map<number, number>();

  constructor(layers: readonly Layer[], options: ImageOptions = {}) {
    this.layers = layers;
    this.redirect = options.redirect;
    this.offsets = [];
    let next = ROOT_INO;
    for (const layer of layers) {
      this.offsets.push(next);
      next += layer.size;
    }
    this.firstFreeIno = next + 1;
    this.lowersOf.set(ROOT_INO, this.collect((layer) => ROOT + this.offsets[layer]!, layers.length - 1));
  }

  /** The union number of inode `ino` of layer `layer` (a layer's root maps to the merged root). */
  inoOf(layer: number, ino: number): number {
    return ino === ROOT ? ROOT_INO : this.offsets[layer]! + ino;
  }

  /** Which layer and layer inode a union number comes from; undefined for containers' own inodes. */
  origin(ino: number): { layer: number; ino: number } | undefined {
    if (ino === ROOT_INO) return this.layers.length === 0 ? undefined : { layer: this.layers.length - 1, ino: ROOT };
    if (ino >= this.firstFreeIno || ino < ROOT_INO) return undefined;
    let low = 0;
    let high = this.offsets.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.offsets[middle]! < ino) low = middle;
      else high = middle - 1;
    }
    return { layer: low, ino: ino - this.offsets[low]! };
  }

  /** The lower inode behind a union number, or undefined when no layer holds it. */
  inode(ino: number): Inode | undefined {
    if (ino === ROOT_INO && this.layers.length === 0) return undefined;
    const where = this.origin(ino);
    return where && this.layers[where.layer]!.inode(where.ino);
  }

  /** How many names the lower inode has in its own layer. */
  nlink(ino: number): number {
    const where = this.origin(ino);
    return where ? this.layers[where.layer]!.nlink(where.ino) : 0;
  }

  /**
   * The parts of the merged directory `ino`, top first: the union numbers of its directory inode in
   * each layer down to the first opaque one. Known for every directory reached through `lookup`.
   */
  lowers(ino: number): readonly number[] {
    const lowers = this.lowersOf.get(ino);
    if (!lowers) throw new Error(`merged directory ${ino} was never looked up`);
    return lowers;
  }

  /**
   * Looks a name up in a merged directory given by its parts: the union number of the entry, or
   * undefined when no layer has it or a whiteout hides it.
   */
  lookup(lowers: readonly number[], name: string): number | undefined {
    if (lowers.length === 0) return undefined;
    if (lowers.length === 1) {
      const where = this.origin(lowers[0]!)!;
      const child = this.layers[where.layer]!.child(where.ino, name);
      if (child === undefined || child === WHITEOUT) return undefined;
      const ino = this.inoOf(where.layer, child);
      if (!this.lowersOf.has(ino) && this.layers[where.layer]!.inode(child).kind === 'dir') this.lowersOf.set(ino, this.redirected([ino]));
      return ino;
    }
    return this.children(lowers).get(name);
  }

  /**
   * st_nlink of a merged directory, as ext4 counts it: its name, its ".", and each
   * subdirectory's "..". Counted once per directory (kernel overlayfs answers 1 for a merged one).
   */
  dirNlink(lowers: readonly number[]): number {
    const top = lowers[0];
    if (top === undefined) return 2;
    let links = this.dirLinks.get(top);
    if (links === undefined) {
      links = 2;
      for (const ino of this.children(lowers).values()) if (this.inode(ino)?.kind === 'dir') links++;
      this.dirLinks.set(top, links);
    }
    return links;
  }

  /** Every visible name of a merged directory with its union number, in name order. */
  children(lowers: readonly number[]): ReadonlyMap<string, number> {
    const top = lowers[0];
    if (top === undefined) return EMPTY;
    const known = this.merged.get(top);
    if (known) return known;
    const hidden = new Set<string>();
    const found = new Map<string, number>();
    for (const part of lowers) {
      const where = this.origin(part)!;
      const dir = this.layers[where.layer]!.inode(where.ino) as DirInode;
      for (const [name, child] of dir.children) {
        if (hidden.has(name) || found.has(name)) continue;
        if (child === WHITEOUT) hidden.add(name);
        else found.set(name, this.enter(where.layer, child, lowers, part, name));
      }
    }
    const sorted = new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    this.merged.set(top, sorted);
    return sorted;
  }

  /** Records the parts of a child directory found in layer `layer` under the merged parent. */
  private enter(layer: number, child: number, parentLowers: readonly number[], part: number, name: string): number {
    const ino = this.inoOf(layer, child);
    if (this.lowersOf.has(ino) || this.layers[layer]!.inode(child).kind !== 'dir') return ino;
    const below = parentLowers.slice(parentLowers.indexOf(part));
    this.lowersOf.set(
      ino,
      this.redirected(
        this.collect((index) => {
          const where = this.origin(below[index]!)!;
          const next = this.layers[where.layer]!.child(where.ino, name);
          return next === undefined ? undefined : next === WHITEOUT ? null : this.inoOf(where.layer, next);
        }, below.length - 1, true),
      ),
    );
    return ino;
  }

  /**
   * Parts found by name, cut at the first one that is a redirect: below it the parts are those of
   * the directory at the redirect's path in the layers under it, as overlayfs looks them up.
   */
  private redirected(parts: number[]): number[] {
    if (!this.redirect) return parts;
    for (let index = 0; index < parts.length; index++) {
      const where = this.origin(parts[index]!)!;
      const target = this.redirect(where.layer, where.ino);
      if (target !== undefined) return [...parts.slice(0, index + 1), ...this.partsAt(target, where.layer)];
    }
    return parts;
  }

  /** The parts of the directory at `path` in the union of the layers below layer `under`. */
  private partsAt(path: string, under: number): number[] {
    let parts = this.collect((layer) => (layer < under ? ROOT + this.offsets[layer]! : undefined), this.layers.length - 1);
    for (const name of path.split('/')) {
      if (name === '' || parts.length === 0) continue;
      parts = this.redirected(
        this.collect((index) => {
          if (index >= parts.length) return undefined;
          const where = this.origin(parts[index]!)!;
          const next = this.layers[where.layer]!.child(where.ino, name);
          return next === undefined ? undefined : next === WHITEOUT ? null : this.inoOf(where.layer, next);
        }, parts.length - 1, true),
      );
    }
    return parts;
  }

  /**
   * Walks parts from index `from` down to 0 (as given by `partAt`), keeping directories and stopping
   * at a whiteout (null), a non-directory or an opaque directory. With `topDown` the index counts
   * from the top instead.
   */
  private collect(partAt: (index: number) => number | null | undefined, last: number, topDown = false): number[] {
    const parts: number[] = [];
    for (let step = 0; step <= last; step++) {
      const ino = partAt(topDown ? step : last - step);
      if (ino === undefined) continue;
      if (ino === null) break;
      const inode = this.inode(ino);
      if (inode?.kind !== 'dir') break;
      parts.push(ino);
      if (inode.opaque) break;
    }
    return parts;
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();
