import { posix } from 'node:path';
import { isErrno } from '../errno.js';
import type { Kind } from '../layer/index.js';
import { toPath } from './args.js';
import { invalidArgType } from './errors.js';
import type { LayerFs } from './fs.js';
import { Dirent } from './stats.js';

/** Node 22's glob options: where relative patterns start, what to leave out, Dirents or paths. */
export interface GlobOptions {
  cwd?: string | URL;
  /** A function (true leaves the path, or Dirent, out) or glob patterns of paths to leave out. */
  exclude?: ((path: string | Dirent) => boolean) | readonly string[];
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
 * does not descend through symlinks; as Node's, `**` alone matches '.' too, and an excluded
 * directory is not searched.
 */
export function globSync(core: LayerFs, pattern: unknown, options: GlobOptions = {}): (string | Dirent)[] {
  const patterns = typeof pattern === 'string' ? [pattern] : Array.isArray(pattern) ? pattern : undefined;
  if (!patterns || patterns.some((one) => typeof one !== 'string')) throw invalidArgType('pattern', 'of type string or an instance of Array', pattern);
  const cwd = core.abs(options.cwd === undefined ? core.cwd() : toPath(options.cwd, 'options.cwd'));
  const dirent = (full: string, kind: Kind) => new Dirent(posix.basename(full), kind, posix.dirname(full));
  const excluded = exclusion(options.exclude, cwd, options.withFileTypes === true, dirent);
  const seen = new Map<string, Found>();
  for (const one of patterns as string[]) {
    for (const expanded of expandBraces(one)) {
      const absolute = expanded.startsWith('/');
      const segments = expanded.split('/').filter((segment) => segment !== '' && segment !== '.');
      const walker = { core, dirsOnly: expanded.endsWith('/'), excluded, emit: (found: Found) => seen.has(found.full) || seen.set(found.full, found) };
      if (expanded === '**') walker.emit({ shown: '.', full: cwd, kind: 'dir' });
      walk(walker, segments, absolute ? '/' : cwd, absolute ? '/' : '');
    }
  }
  return [...seen.values()].map((found) => (options.withFileTypes ? dirent(found.full, found.kind) : found.shown));
}

interface Walker {
  core: LayerFs;
  /** The pattern ended in '/': only directories match. */
  dirsOnly: boolean;
  excluded: (found: Found) => boolean;
  emit: (found: Found) => unknown;
}

/** options.exclude as a test of a found path: Node's function, or patterns of absolute paths. */
function exclusion(exclude: GlobOptions['exclude'], cwd: string, typed: boolean, dirent: (full: string, kind: Kind) => Dirent): (found: Found) => boolean {
  if (exclude === undefined) return () => false;
  if (typeof exclude === 'function') return (found) => exclude(typed ? dirent(found.full, found.kind) : found.shown);
  if (!Array.isArray(exclude) || exclude.some((one) => typeof one !== 'string')) throw invalidArgType('options.exclude', 'of type string[] or function', exclude);
  const matchers = exclude.flatMap((one) => expandBraces(one)).map((one) => pathMatcher(posix.resolve(cwd, one)));
  return (found) => matchers.some((matcher) => matcher.test(found.full));
}

function walk(walker: Walker, segments: string[], dir: string, shown: string): void {
  const { core, dirsOnly, emit } = walker;
  const kind = kindAt(core, dir, true);
  if (segments.length === 0) {
    // The starting directory itself is no match of a relative pattern (but '**' alone names it '.').
    if (kind !== undefined && shown !== '' && (!dirsOnly || kind === 'dir')) emit({ shown, full: dir, kind });
    return;
  }
  if (kind !== 'dir') return;
  const [segment, ...rest] = segments as [string, ...string[]];
  const join = (name: string) => [dir === '/' ? `/${name}` : `${dir}/${name}`, shown === '' ? name : shown === '/' ? `/${name}` : `${shown}/${name}`] as const;
  /** Goes on at a child, unless it is excluded (an excluded directory is not searched). */
  const enter = (name: string, next: string[]) => {
    const [full, nextShown] = join(name);
    const childKind = kindAt(core, full, false);
    if (childKind !== undefined && walker.excluded({ shown: nextShown, full, kind: childKind })) return;
    walk(walker, next, full, nextShown);
  };
  if (segment === '**') {
    // Zero directories, then every directory below (not through symlinks, not hidden ones).
    walk(walker, rest, dir, shown);
    for (const name of names(core, dir)) {
      if (name.startsWith('.')) continue;
      const childKind = kindAt(core, join(name)[0], false);
      if (childKind === 'dir') enter(name, segments);
      else if (rest.length === 0 && !dirsOnly) enter(name, rest);
    }
    return;
  }
  const matcher = segmentMatcher(segment);
  if (typeof matcher === 'string') return enter(matcher, rest);
  for (const name of names(core, dir)) {
    if (name.startsWith('.') && !segment.startsWith('.')) continue;
    if (matcher.test(name)) enter(name, rest);
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
  return new RegExp(`^${segmentSource(segment)}$`, 's');
}

/** A RegExp for whole absolute paths: `**` stands for any directories (no hidden ones). */
function pathMatcher(pattern: string): RegExp {
  const segments = pattern.split('/').filter((segment) => segment !== '');
  const source = segments.map((segment) => (segment === '**' ? '(?:/(?!\\.)[^/]+)*' : `/${segmentSource(segment)}`)).join('');
  return new RegExp(`^${source || '/'}/?$`, 's');
}

/** The RegExp source of one segment: `*` and `?` never cross a '/', classes as written. */
function segmentSource(segment: string): string {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '\\' && i + 1 < segment.length) source += escape(segment[++i]!);
    else if (char === '*') source += i === 0 ? '(?!\\.)[^/]*' : '[^/]*';
    else if (char === '?') source += i === 0 ? '(?!\\.)[^/]' : '[^/]';
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
  return source;
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
