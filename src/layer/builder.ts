import { ErrnoError } from '../errno.js';
import { type BlobStore, type Content, DEFAULT_CHUNK_SIZE, putContent } from '../store/index.js';
import { type DirInode, type Inode, type Kind, type Meta, ROOT, WHITEOUT, defaultMeta, invalidName } from './inode.js';
import { Layer } from './layer.js';

interface DraftDir {
  kind: 'dir';
  meta: Meta;
  opaque: boolean;
  /** Made as a parent, or without metadata: its metadata is a default, not the archive's. */
  implicit: boolean;
  children: Map<string, Draft | typeof WHITEOUT>;
}
/** Non-directories are finished inodes: the same object under two names is a hard link. */
type Draft = DraftDir | Exclude<Inode, DirInode>;

export interface LayerBuilderOptions {
  chunkSize?: number;
  /** Time given to entries whose metadata does not say (nanoseconds; default 0 for reproducible ids). */
  time?: bigint;
}

/** Splits a layer path into names, rejecting what can never be an entry (`..`, NUL, long names). */
export function splitLayerPath(path: string): string[] {
  const names = path.split('/').filter((name) => name !== '' && name !== '.');
  for (const name of names) {
    const problem = invalidName(name);
    if (problem) throw new ErrnoError(name === '..' ? 'EINVAL' : Buffer.byteLength(name) > 255 ? 'ENAMETOOLONG' : 'EINVAL', { path, detail: problem });
  }
  return names;
}

/**
 * Builds a layer from paths in any order; the result (and its id) depends only on the tree.
 * Parents are created as needed; setting an existing path replaces it (a directory keeps its
 * children), as a later tar entry replaces an earlier one.
 */
export class LayerBuilder {
  private readonly root: DraftDir;
  private readonly chunkSize: number;
  private readonly time: bigint;

  constructor(
    private readonly store: BlobStore,
    options: LayerBuilderOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.time = options.time ?? 0n;
    this.root = { kind: 'dir', meta: defaultMeta('dir', this.time), opaque: false, implicit: true, children: new Map() };
  }

  private meta(kind: Kind, meta: Partial<Meta> = {}): Meta {
    return { ...defaultMeta(kind, this.time), ...meta };
  }

  /**
   * The directory holding `path` and the last name; parents are created as plain directories. A
   * parent over a whiteout becomes opaque: the whiteout hid the lower directory, and so must it.
   */
  private parentOf(path: string): [DraftDir, string] {
    const names = splitLayerPath(path);
    const last = names.pop();
    if (last === undefined) throw new ErrnoError('EINVAL', { path, detail: 'the root has no parent' });
    let dir = this.root;
    for (const name of names) {
      let next = dir.children.get(name);
      if (next === undefined || next === WHITEOUT || next.kind !== 'dir') {
        next = { kind: 'dir', meta: this.meta('dir'), opaque: next === WHITEOUT, implicit: true, children: new Map() };
        dir.children.set(name, next);
      }
      dir = next;
    }
    return [dir, last];
  }

  /** What `path` holds so far: a kind, 'whiteout', or undefined (absent, or below a non-directory). */
  kindAt(path: string): Kind | 'whiteout' | undefined {
    const entry = this.find(path);
    return entry === undefined ? undefined : entry === WHITEOUT ? 'whiteout' : entry.kind;
  }

  /**
   * The nearest proper ancestor of `path` that exists and is not a directory (a symlink or file
   * set earlier), or undefined. Setting `path` would replace that ancestor with a directory;
   * importers that must not (a tar member through a symlink it planted) ask first.
   */
  nonDirectoryAbove(path: string): { path: string; kind: Kind } | undefined {
    const names = splitLayerPath(path);
    let entry: Draft | typeof WHITEOUT | undefined = this.root;
    for (let depth = 0; depth < names.length - 1; depth++) {
      if (entry === undefined || entry === WHITEOUT || entry.kind !== 'dir') return undefined;
      entry = entry.children.get(names[depth]!);
      if (entry !== undefined && entry !== WHITEOUT && entry.kind !== 'dir') return { path: `/${names.slice(0, depth + 1).join('/')}`, kind: entry.kind };
    }
    return undefined;
  }

  /** Creates or updates a directory (the root too, with path '/'). */
  dir(path: string, meta?: Partial<Meta>, options: { opaque?: boolean } = {}): this {
    if (splitLayerPath(path).length === 0) {
      if (meta) {
        this.root.meta = this.meta('dir', meta);
        this.root.implicit = false;
      }
      if (options.opaque !== undefined) this.root.opaque = options.opaque;
      return this;
    }
    const [parent, name] = this.parentOf(path);
    const existing = parent.children.get(name);
    if (existing !== undefined && existing !== WHITEOUT && existing.kind === 'dir') {
      if (meta) {
        existing.meta = this.meta('dir', meta);
        existing.implicit = false;
      }
      if (options.opaque !== undefined) existing.opaque = options.opaque;
    } else {
      // Over a whiteout, opaque unless told otherwise (see parentOf).
      parent.children.set(name, { kind: 'dir', meta: this.meta('dir', meta), opaque: options.opaque ?? existing === WHITEOUT, implicit: meta === undefined, children: new Map() });
    }
    return this;
  }

  file(path: string, data: string | Uint8Array | Content, meta?: Partial<Meta>): this {
    const content = typeof data === 'string' || data instanceof Uint8Array ? this.content(data) : data;
    return this.put(path, { kind: 'file', ...this.meta('file', meta), content });
  }

  symlink(path: string, target: string, meta?: Partial<Meta>): this {
    return this.put(path, { kind: 'symlink', ...this.meta('symlink', meta), target });
  }

  device(path: string, kind: 'chardev' | 'blockdev', rdev: number, meta?: Partial<Meta>): this {
    return this.put(path, { kind, ...this.meta(kind, meta), rdev });
  }

  special(path: string, kind: 'fifo' | 'socket', meta?: Partial<Meta>): this {
    return this.put(path, { kind, ...this.meta(kind, meta) });
  }

  /** The entry at `path`, creating nothing on the way (a failed link must not leave directories). */
  private find(path: string): Draft | typeof WHITEOUT | undefined {
    let entry: Draft | typeof WHITEOUT | undefined = this.root;
    for (const name of splitLayerPath(path)) {
      if (entry === undefined || entry === WHITEOUT || entry.kind !== 'dir') return undefined;
      entry = entry.children.get(name);
    }
    return entry;
  }

  /** Gives the non-directory at `existing` a second name. */
  link(path: string, existing: string): this {
    const target = this.find(existing);
    if (target === undefined || target === WHITEOUT) throw new ErrnoError('ENOENT', { path: existing, dest: path, detail: 'hard link target not in layer' });
    if (target.kind === 'dir') throw new ErrnoError('EPERM', { path: existing, dest: path, detail: 'hard link to a directory' });
    return this.put(path, target);
  }

  whiteout(path: string): this {
    const [parent, name] = this.parentOf(path);
    parent.children.set(name, WHITEOUT);
    return this;
  }

  /** Places a finished inode; the same object at two paths is one inode with two names. */
  put(path: string, inode: Exclude<Inode, DirInode>): this {
    const [parent, name] = this.parentOf(path);
    parent.children.set(name, inode);
    return this;
  }

  private content(data: string | Uint8Array): Content {
    return putContent(this.store, typeof data === 'string' ? Buffer.from(data) : data, this.chunkSize);
  }

  /**
   * Directories whose metadata nobody gave (parents made on the way, the root without a `./`
   * member), root first. An importer stacking the layer on others may want the lower
   * directory's metadata there, as extraction onto a lower tree leaves it.
   */
  implicitDirs(): string[] {
    const found: string[] = [];
    const visit = (dir: DraftDir, path: string) => {
      if (dir.implicit) found.push(path === '' ? '/' : path);
      for (const [name, child] of [...dir.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (child !== WHITEOUT && child.kind === 'dir') visit(child, `${path}/${name}`);
      }
    };
    visit(this.root, '');
    return found;
  }

  /** Numbers the tree canonically (depth first, names sorted), stores it and returns the layer. */
  build(): Layer {
    const inodes: (Inode | undefined)[] = [undefined];
    const numbers = new Map<Draft, number>();
    const visit = (draft: Draft): number => {
      const known = numbers.get(draft);
      if (known !== undefined) return known;
      const ino = inodes.length;
      numbers.set(draft, ino);
      inodes.push(undefined);
      if (draft.kind !== 'dir') {
        inodes[ino] = draft;
        return ino;
      }
      const children = new Map<string, number>();
      for (const name of [...draft.children.keys()].sort()) {
        const child = draft.children.get(name)!;
        children.set(name, child === WHITEOUT ? WHITEOUT : visit(child));
      }
      inodes[ino] = { kind: 'dir', ...draft.meta, opaque: draft.opaque, children };
      return ino;
    };
    if (visit(this.root) !== ROOT) throw new Error('root must be inode 1');
    return Layer.store(this.store, inodes);
  }
}
