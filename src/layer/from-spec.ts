import type { BlobStore } from '../store/index.js';
import { LayerBuilder, type LayerBuilderOptions } from './builder.js';
import type { Meta } from './inode.js';
import type { Layer } from './layer.js';

type SpecMeta = Partial<Omit<Meta, 'xattrs'>> & { xattrs?: Record<string, string | Uint8Array> };

/** One entry of a declarative layer: a string or bytes is a regular file. */
export type SpecEntry =
  | string
  | Uint8Array
  | ({ kind: 'file'; data?: string | Uint8Array } & SpecMeta)
  | ({ kind: 'dir'; opaque?: boolean } & SpecMeta)
  | ({ kind: 'symlink'; target: string } & SpecMeta)
  | { kind: 'link'; target: string }
  | { kind: 'whiteout' }
  | ({ kind: 'chardev' | 'blockdev'; rdev: number } & SpecMeta)
  | ({ kind: 'fifo' | 'socket' } & SpecMeta);

/** A layer as a plain object of path to entry, for fixtures and tests. Hard links come last. */
export type LayerSpec = Record<string, SpecEntry>;

export function layerFromSpec(store: BlobStore, spec: LayerSpec, options?: LayerBuilderOptions): Layer {
  const builder = new LayerBuilder(store, options);
  const links: [string, string][] = [];
  for (const [path, entry] of Object.entries(spec)) {
    if (typeof entry === 'string' || entry instanceof Uint8Array) {
      builder.file(path, entry);
      continue;
    }
    switch (entry.kind) {
      case 'link':
        links.push([path, entry.target]);
        break;
      case 'whiteout':
        builder.whiteout(path);
        break;
      case 'file':
        builder.file(path, entry.data ?? '', specMeta(entry));
        break;
      case 'dir':
        builder.dir(path, specMeta(entry), { opaque: entry.opaque ?? false });
        break;
      case 'symlink':
        builder.symlink(path, entry.target, specMeta(entry));
        break;
      case 'chardev':
      case 'blockdev':
        builder.device(path, entry.kind, entry.rdev, specMeta(entry));
        break;
      default:
        builder.special(path, entry.kind, specMeta(entry));
    }
  }
  for (const [path, target] of links) builder.link(path, target);
  return builder.build();
}

function specMeta(entry: SpecMeta): Partial<Meta> {
  const { xattrs, ...rest } = entry;
  const meta: Record<string, unknown> = {};
  for (const key of ['mode', 'uid', 'gid', 'atime', 'mtime', 'ctime'] as const) {
    if (rest[key] !== undefined) meta[key] = rest[key];
  }
  if (xattrs) {
    meta.xattrs = new Map(Object.entries(xattrs).map(([name, value]) => [name, typeof value === 'string' ? Buffer.from(value) : value]));
  }
  return meta as Partial<Meta>;
}
