import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Feature, FsLike, Handle, Target } from '../targets/index.js';

/** What every part of the suite gets: the target's fs for the current test and its paths. */
export interface Ctx {
  readonly target: Target;
  readonly fs: FsLike;
  /** Root's fs over the same tree (user targets only): prepares what the user then meets. */
  readonly admin: FsLike;
  /** A fixture path on the target: '/dir/a.txt' -> '<root>/dir/a.txt'. */
  p(path: string): string;
  /** `it`, or `it.skip` / `it.todo` when the target lacks the feature. */
  test(feature?: Feature): (name: string, fn: () => unknown) => void;
}

export function context(target: Target): Ctx {
  let handle: Handle | undefined;
  beforeEach(async () => {
    handle = await target.setup();
  });
  afterEach(async () => {
    await handle?.cleanup();
    handle = undefined;
  });
  return {
    target,
    get fs() {
      return handle!.fs;
    },
    get admin() {
      if (!handle?.admin) throw new Error(`${target.name} has no admin fs`);
      return handle.admin;
    },
    p: (path) => handle!.root + path,
    test(feature) {
      const lack = feature && target.lacks?.[feature];
      if (lack === 'skip') return (name, fn) => it.skip(name, fn);
      if (lack === 'todo') return (name) => it.todo(name);
      return (name, fn) => it(name, fn);
    },
  };
}

/** The error `action` throws (fails the test if it throws none). */
export function caught(action: () => unknown): NodeJS.ErrnoException & Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException & Record<string, unknown>;
  }
  throw new Error('expected an error, none was thrown');
}

export async function rejected(promise: Promise<unknown>): Promise<NodeJS.ErrnoException & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException & Record<string, unknown>;
  }
  throw new Error('expected a rejection, the promise resolved');
}

// Linux's numbers and strerror texts as libuv words them; the node:fs target checks this table.
const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'operation not permitted'],
  ENOENT: [2, 'no such file or directory'],
  EBADF: [9, 'bad file descriptor'],
  EACCES: [13, 'permission denied'],
  EEXIST: [17, 'file already exists'],
  ENOTDIR: [20, 'not a directory'],
  EISDIR: [21, 'illegal operation on a directory'],
  EINVAL: [22, 'invalid argument'],
  ENOTEMPTY: [39, 'directory not empty'],
  ENAMETOOLONG: [36, 'name too long'],
  ELOOP: [40, 'too many symbolic links encountered'],
  ENODATA: [61, 'no data available'],
};

export interface Expected {
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
}

/** Node's error shape, field by field: code, negative errno, syscall, path, dest, message. */
export function expectErrno(error: NodeJS.ErrnoException & Record<string, unknown>, expected: Expected): void {
  const [number, text] = ERRNO[expected.code]!;
  let message = `${expected.code}: ${text}, ${expected.syscall}`;
  if (expected.path !== undefined) message += ` '${expected.path}'`;
  if (expected.dest !== undefined) message += ` -> '${expected.dest}'`;
  expect(error).toBeInstanceOf(Error);
  expect({
    code: error.code,
    errno: error.errno,
    syscall: error.syscall,
    path: error.path,
    dest: error.dest,
    message: error.message,
  }).toEqual({ code: expected.code, errno: -number, syscall: expected.syscall, path: expected.path, dest: expected.dest, message });
}
