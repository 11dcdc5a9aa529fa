import { TarError, type TarHeader } from './tar.js';
import { invalidName } from '../layer/index.js';
import type { MemberRole } from './layer-from-tar.js';

/**
 * OCI whiteouts (image-spec layer.md, from AUFS): `.wh.NAME` hides NAME in lower layers and
 * `.wh..wh..opq` makes its directory opaque. This file is the only place that knows these names;
 * layers hold whiteouts as data (WHITEOUT entries, `opaque` directories).
 */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** AUFS keeps its own metadata under `.wh..wh.` names (`.wh..wh.plnk`, `.wh..wh.aufs`). */
const AUFS_META = '.wh..wh.';

/**
 * The role of a member of an OCI layer (for layerFromTar's `roleOf`): any member type named
 * `.wh.` is a marker, as docker applies them; a marker naming `.`, `..` or nothing (`.wh..`,
 * `.wh...`, `.wh.`) would hide the directory itself or its parent, and is an error, as is a
 * member inside a directory whose name is a whiteout.
 */
export function ociMemberRole(path: string, header: TarHeader): MemberRole | undefined {
  const names = path.split('/').filter((name) => name !== '');
  const base = names.pop();
  if (base === undefined) return undefined;
  for (const name of names) {
    if (name.startsWith(AUFS_META)) return { kind: 'skip' };
    if (name.startsWith(WHITEOUT_PREFIX)) throw new TarError(`member ${JSON.stringify(header.path)} is inside whiteout ${JSON.stringify(name)}`, header.offset);
  }
  const dir = `/${names.join('/')}`;
  if (base === OPAQUE_MARKER) return { kind: 'opaque', path: dir };
  if (base.startsWith(AUFS_META)) return { kind: 'skip' };
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const victim = base.slice(WHITEOUT_PREFIX.length);
  const problem = invalidName(victim);
  if (problem) throw new TarError(`whiteout ${JSON.stringify(header.path)} cannot hide ${JSON.stringify(victim)}: ${problem}`, header.offset);
  return { kind: 'whiteout', path: names.length === 0 ? `/${victim}` : `${dir}/${victim}` };
}

/** The member name of a whiteout hiding `name`. */
export function whiteoutName(name: string): string {
  return `${WHITEOUT_PREFIX}${name}`;
}

/** Whether a real entry's name would be read back as a marker (OCI layers cannot hold it). */
export function isMarkerName(name: string): boolean {
  return name.startsWith(WHITEOUT_PREFIX);
}
