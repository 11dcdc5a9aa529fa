import type { DirEntry } from './node-ops.js';

/** A directory's entries in offset order: `cookies[i]` is the offset of `entries[i]`. */
export interface Listing {
  entries: readonly DirEntry[];
  cookies: readonly number[];
}

/** A 52-bit hash of a name (two FNV-1a lanes), above the offsets of `.` and `..`. */
function nameHash(name: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 2 ** 20 + ((b >>> 0) >>> 12) + 3;
}

/**
 * Orders entries by a hash of their name, which is each entry's offset, as ext4 does: the kernel
 * resumes a listing at an offset without the server keeping anything open, and a name neither
 * added nor removed meanwhile is listed exactly once. `.` and `..` come first (offsets 1 and 2).
 */
export function listing(entries: readonly DirEntry[]): Listing {
  const keyed = entries.map((entry) => ({ entry, cookie: entry.name === '.' ? 1 : entry.name === '..' ? 2 : nameHash(entry.name) }));
  keyed.sort((x, y) => x.cookie - y.cookie || (x.entry.name < y.entry.name ? -1 : 1));
  // Two names with one hash (about one in 10^8 for 10,000 names) take consecutive offsets.
  for (let i = 1; i < keyed.length; i++) if (keyed[i]!.cookie <= keyed[i - 1]!.cookie) keyed[i]!.cookie = keyed[i - 1]!.cookie + 1;
  return { entries: keyed.map((k) => k.entry), cookies: keyed.map((k) => k.cookie) };
}

/** The index of the first entry after offset `offset`. */
export function resumeAt(list: Listing, offset: number): number {
  let low = 0;
  let high = list.cookies.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list.cookies[middle]! <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
