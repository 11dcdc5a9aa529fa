import { describe, expect, test } from 'vitest';
import { listing, resumeAt } from '../../src/fuse/kernel/listing.js';
import type { DirEntry } from '../../src/fuse/kernel/node-ops.js';

const entry = (name: string): DirEntry => ({ name, ino: 2, mode: 0o100644 });
const names = (count: number, prefix = 'f') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** Reads a directory the way the kernel does: `batch` entries at a time, resuming at the last offset. */
function readAll(current: () => readonly DirEntry[], batch: number, between: (seen: string[]) => void = () => {}): string[] {
  const seen: string[] = [];
  for (let offset = 0; ; ) {
    const list = listing(current());
    const from = resumeAt(list, offset);
    const page = list.entries.slice(from, from + batch);
    if (page.length === 0) return seen;
    seen.push(...page.map((e) => e.name));
    offset = list.cookies[from + page.length - 1]!;
    between(seen);
  }
}

describe('directory offsets (kept by nobody: a hash of each name)', () => {
  test('. and .. come first, every name once, offsets strictly rising', () => {
    const list = listing([entry('b'), entry('..'), entry('a'), entry('.'), ...names(500).map(entry)]);
    expect(list.entries.slice(0, 2).map((e) => e.name)).toEqual(['.', '..']);
    expect(new Set(list.entries.map((e) => e.name)).size).toBe(504);
    for (let i = 1; i < list.cookies.length; i++) expect(list.cookies[i]).toBeGreaterThan(list.cookies[i - 1]!);
    expect(Math.max(...list.cookies)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  test('a name neither added nor removed while a listing is read is seen exactly once', () => {
    let present = new Set(names(1000));
    const original = new Set(present);
    const seen = readAll(
      () => [...present].map(entry),
      37,
      (so) => {
        // Remove what was read, plus some not yet read; add new names.
        for (const name of so.slice(-5)) present.delete(name);
        present = new Set([...present, `new${so.length}`]);
        present.delete(`f${so.length % 1000}`);
      },
    );
    const removedUnseen = [...original].filter((name) => !present.has(name) && !seen.includes(name));
    for (const name of original) {
      const count = seen.filter((s) => s === name).length;
      if (present.has(name)) expect(count, name).toBe(1);
      else expect(count, name).toBeLessThanOrEqual(1);
    }
    expect(removedUnseen.length).toBeGreaterThan(0); // the test did remove names ahead of the reader
  });

  test('names with one hash still get distinct offsets', () => {
    const list = listing(names(20_000).map(entry));
    expect(new Set(list.cookies).size).toBe(20_000);
    expect(resumeAt(list, list.cookies[19_999]!)).toBe(20_000);
    expect(resumeAt(list, 0)).toBe(0);
  });
});
