import { ErrnoError } from '../../errno.js';
import type { UnionView } from '../../union/index.js';
import { STATFS, errnoOf } from './ops.js';

type Reply = (result: number, ...values: unknown[]) => void;
type Handler = (...args: never[]) => void;
type Ops = Record<string, unknown>;

// Ops whose first two arguments are both paths of ours.
const TWO_PATHS = new Set(['rename', 'link']);

/**
 * One FUSE op table over many containers: `/` lists their names, `/<name>/rest` goes to that
 * container's ops as `/rest`. Renames and links between containers answer EXDEV. Inode numbers
 * of different containers overlap, and FUSE carries 32 bits of them: each (container, inode) gets
 * its own number, stable for the life of the mount.
 */
export function routerOps(resolve: (name: string) => UnionView | undefined, names: () => string[], opsOf: (view: UnionView) => Ops): Ops {
  const tables = new Map<string, Ops>();
  // The usual case is computed, so nothing grows with the files programs touch: the container's
  // slot (1..1023) in the top 10 bits, its inode number (below 2^22) in the rest. Beyond those,
  // numbers are handed out in slot 0's range (2 up; 1 is the root) and remembered.
  const slots = new Map<string, number>();
  const overflow = new Map<string, number>();
  const number = (name: string, ino: number) => {
    let slot = slots.get(name);
    if (slot === undefined && slots.size < 1023) slots.set(name, (slot = slots.size + 1));
    if (slot !== undefined && ino < 2 ** 22) return slot * 2 ** 22 + ino;
    const key = `${name}\0${ino}`;
    let assigned = overflow.get(key);
    if (assigned === undefined) overflow.set(key, (assigned = 2 + overflow.size));
    return assigned;
  };
  const route = (path: string): [Ops, string] | undefined => {
    const [, name = '', ...rest] = path.split('/');
    let ops = tables.get(name);
    if (!ops) {
      const view = resolve(name);
      if (!view) return undefined;
      tables.set(name, (ops = opsOf(view)));
    }
    return [ops, `/${rest.join('/')}`];
  };
  const rootStat = () => {
    const now = Date.now();
    return { mode: 0o40555, uid: 0, gid: 0, size: 4096, nlink: 2, ino: 1, rdev: 0, blocks: 8, blksize: 4096, atime: now, mtime: now, ctime: now };
  };
  const root: Record<string, (...args: never[]) => void> = {
    getattr: (_path: string, reply: Reply) => reply(0, rootStat()),
    readdir: (_path: string, reply: Reply) => reply(0, names()),
    access: (_path: string, _mode: number, reply: Reply) => reply(0),
    statfs: (_path: string, reply: Reply) => reply(0, STATFS),
  };
  // The op names: building a table touches no view, so an empty stand-in lists them.
  const sample = opsOf({} as UnionView);
  const table: Ops = {};
  for (const op of Object.keys(sample)) {
    if (typeof sample[op] !== 'function') continue;
    // symlink's first argument is the link's text, not a path of ours: route by the second.
    const at = op === 'symlink' ? 1 : 0;
    table[op] = (...args: unknown[]) => {
      const reply = args[args.length - 1] as Reply;
      const path = args[at] as string;
      if (path === '/') {
        const handler = root[op];
        return handler ? (handler as Handler)(...(args as never[])) : reply(errnoOf(new ErrnoError('EPERM')));
      }
      const target = route(path);
      if (!target) return reply(errnoOf(new ErrnoError('ENOENT')));
      const [ops, inner] = target;
      const routed = [...args];
      routed[at] = inner;
      if (op === 'getattr' || op === 'fgetattr') {
        const name = path.split('/')[1]!;
        routed[routed.length - 1] = (result: number, stat?: { ino: number }) => {
          if (stat) stat.ino = number(name, stat.ino);
          reply(result, stat);
        };
      }
      if (TWO_PATHS.has(op)) {
        const second = route(args[1] as string);
        if (!second || second[0] !== ops) return reply(errnoOf(new ErrnoError('EXDEV')));
        routed[1] = second[1];
      }
      return (ops[op] as Handler)(...(routed as never[]));
    };
  }
  return table;
}
