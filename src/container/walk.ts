import type { UnionView } from '../union/view.js';

export type ChangeKind = 'added' | 'changed' | 'deleted';

/** One difference between a container's view and its image, as `docker diff` lists them. */
export interface Change {
  kind: ChangeKind;
  path: string;
  /** The container's inode (absent for a deletion). */
  ino?: number;
  /** For an added directory: it hides a directory of the image at the same path. */
  opaque?: boolean;
}

/**
 * Compares a container's view with the plain image (`natural`) path by path. A directory that is
 * the same inode on both sides is compared entry by entry; one that is not (created, or moved in
 * from elsewhere) is listed whole: itself as added or changed (when it replaces an entry of the
 * image), everything below it as added. An inode the container changed in place (copy-up) is
 * "changed" wherever it has a name. Parents are listed before their children.
 */
export function* compareViews(view: UnionView, natural: UnionView, changed: (ino: number) => boolean): Iterable<Change> {
  yield* compareDir(view, natural, changed, 1, 1, '');
}

function* compareDir(
  view: UnionView,
  natural: UnionView,
  changed: (ino: number) => boolean,
  dir: number,
  naturalDir: number | undefined,
  prefix: string,
): Iterable<Change> {
  const seen = new Set<string>();
  for (const entry of view.readdir(dir)) {
    seen.add(entry.name);
    const path = `${prefix}/${entry.name}`;
    const before = naturalDir === undefined ? undefined : natural.lookup(naturalDir, entry.name);
    if (before === entry.ino) {
      if (changed(entry.ino)) yield { kind: 'changed', path, ino: entry.ino };
      if (entry.kind === 'dir') yield* compareDir(view, natural, changed, entry.ino, before, path);
      continue;
    }
    // A different inode under the name: new, moved here, or replacing the image's entry. A
    // directory replacing a directory must hide the old one's contents (opaque).
    const opaque = before !== undefined && natural.kindOf(before) === 'dir' && entry.kind === 'dir';
    yield { kind: before === undefined ? 'added' : 'changed', path, ino: entry.ino, opaque };
    if (entry.kind === 'dir') yield* compareDir(view, natural, changed, entry.ino, undefined, path);
  }
  if (naturalDir === undefined) return;
  for (const entry of natural.readdir(naturalDir)) {
    if (!seen.has(entry.name)) yield { kind: 'deleted', path: `${prefix}/${entry.name}` };
  }
}
