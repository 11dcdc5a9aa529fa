import { posix } from 'node:path';
import { isErrno } from '../errno.js';
import type { Kind } from '../layer/index.js';
import { invalidArgType } from './errors.js';
import type { LayerFs } from './fs.js';
import { Dirent } from './stats.js';

/** Node 22's glob options: where relative patterns start, what to leave out, Dirents or paths. */
export interface GlobOptions {
  cwd?: string;
  exclude?: (path: string | Dirent) => boolean;
  withFileTypes?: boolean;
}

interface Found {
  /** The path as the caller will see it: relative to cwd for a relative pattern. */
  shown: string;
  /** The absolute path in the fs. */
  full: string;
  kind: Kind;
}

/**
 * fs.globSync as Node 22 has it (minimatch's syntax: `*`, `?`, `[...]`, `{a,b}`, `**`): the
 * matching paths, relative to `cwd` for a relative pattern, in the order the walk meets them.
 * As in minimatch without `dot`, a wildcard never matches a name starting with '.', and `**`
 * does not descend through symlinks.
 */
export function globSync(core: LayerFs, pattern: unknown, options: GlobOptions = {}): (string | Dirent)[] {
  const patterns = typeof pattern === 'string' ? [pattern] : Array.isArray(pattern) ? pattern : undefined;
  if (!patterns || patterns.some((one) => typeof one !== 'string')) throw invalidArgType('pattern', 'of type string or an instance of Array', pattern);
  const cwd = core.abs(options.cwd ?? core.cwd());
  const seen = new Map<string, Found>();
  for (const one of patterns as string[]) {
    for (const expanded of expandBraces(one)) {
      const absolute = expanded.startsWith('/');
      const segments = expanded.split('/').filter((segment) => segment !== '' && segment !== '.');
      walk(core, segments, absolute ? '/' : cwd, absolute ? '/' : '', expanded.endsWith('/'), (found) => {
        if (!seen.has(found.full)) seen.set(found.full, found);
      });
    }
  }
  const results: (string | Dirent)[] = [];
  for (const found of seen.values()) {
    const result = options.withFileTypes ? new Dirent(posix.basename(found.full), found.kind, posix.dirname(found.full)) : found.shown;
    if (!options.exclude?.(result)) results.push(result);
  }
  return results;
}

function walk(core: LayerFs, segments: string[], dir: string, shown: string, dirsOnly: boolean, emit: (found: Found) => void): void {
  const kind = kindAt(core, dir, true);
  if (segments.length === 0) {
    // The starting directory itself is never a match of a relative pattern ('**' lists below it).
    if (kind !== undefined && shown !== '' && (!dirsOnly || kind === 'dir')) emit({ shown, full: dir, kind });
    return;
  }
  if (kind !== 'dir') return;
  const [segment, ...rest] = segments as [string, ...string[]];
  const join = (name: string) => [dir === '/' ? `/${name}` : `${dir}/${name}`, shown === '' ? name : shown === '/' ? `/${name}` : `${shown}/${name}`] as const;
  if (segment === '**') {
    // Zero directories, then every directory below (not through symlinks, not hidden ones).
    walk(core, rest, dir, shown, dirsOnly, emit);
    for (const name of names(core, dir)) {
      if (name.startsWith('.')) continue;
      const [full, nextShown] = join(name);
      if (kindAt(core, full, false) === 'dir') walk(core, segments, full, nextShown, dirsOnly, emit);
      else if (rest.length === 0 && !dirsOnly) walk(core, rest, full, nextShown, dirsOnly, emit);
    }
    return;
  }
  const matcher = segmentMatcher(segment);
  if (typeof matcher === 'string') {
    const [full, nextShown] = join(matcher);
    walk(core, rest, full, nextShown, dirsOnly, emit);
    return;
  }
  for (const name of names(core, dir)) {
    if (name.startsWith('.') && !segment.startsWith('.')) continue;
    if (!matcher.test(name)) continue;
    const [full, nextShown] = join(name);
    walk(core, rest, full, nextShown, dirsOnly, emit);
  }
}

function names(core: LayerFs, dir: string): string[] {
  try {
    return core.readdirSync(dir) as string[];
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR') || isErrno(error, 'EACCES')) return [];
    throw error;
  }
}

/** The kind at a path (following a last symlink or not), or undefined where nothing is. */
function kindAt(core: LayerFs, path: string, follow: boolean): Kind | undefined {
  const ino = core.view.find(path, { follow });
  return typeof ino === 'number' ? core.view.kindOf(ino) : undefined;
}

/** A segment without wildcards is the name itself; one with them, a RegExp for whole names. */
function segmentMatcher(segment: string): string | RegExp {
  if (!/[*?[\\]/.test(segment)) return segment;
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '\\' && i + 1 < segment.length) source += escape(segment[++i]!);
    else if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) source += '\\[';
      else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        source += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += escape(char);
  }
  return new RegExp(`^${source}$`, 's');
}

function escape(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}

/** `a{b,c}d` as `abd`, `acd`; nested braces expand too; a brace without a comma stays as it is. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') i++;
    else if (char === '{') depth++;
    else if (char === ',' && depth === 1) commas.push(i);
    else if (char === '}' && --depth === 0) {
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      if (commas.length === 0) return expandBraces(tail).map((rest) => `${pattern.slice(0, i + 1)}${rest}`);
      const bounds = [open, ...commas, i];
      const options = bounds.slice(1).map((end, k) => pattern.slice(bounds[k]! + 1, end));
      return options.flatMap((option) => expandBraces(`${head}${option}${tail}`));
    }
  }
  return [pattern];
}
