import type * as NodeFs from 'node:fs';

/** The fs surface the suite uses: node:fs's own, which every target must answer like. */
export type FsLike = typeof NodeFs;

/** Things a target may lack; the suite skips or marks todo the tests that need them. */
export type Feature =
  /** getxattr/setxattr/listxattr/removexattr (Node has no API for them). */
  | 'xattr'
  /** lchmod: Linux has none, so Node leaves fs.lchmod undefined there. */
  | 'lchmod'
  /** fs.watch events for changes made through the same fs. */
  | 'watch'
  /** chown to another user (needs root on a real filesystem). */
  | 'chown'
  /** Times finer than a millisecond (fuse-native carries milliseconds). */
  | 'subMillisecondTimes'
  /** atime moved by reads and listings (relatime). */
  | 'atimeOnRead'
  /** Directories report ext4's size: one 4 KiB block (tmpfs reports 20 bytes per entry). */
  | 'ext4DirSize'
  /** fs.glob and fs.globSync (Node 22's). */
  | 'glob'
  /** A write by a user outside a file's group drops its setgid bit without group execute too. */
  | 'sgidOutsideGroup';

export interface Target {
  name: string;
  /** What the target cannot do: 'skip' (never will) or 'todo' (not yet). */
  lacks?: Partial<Record<Feature, 'skip' | 'todo'>>;
  /** Why the target cannot run on this machine (FUSE without /dev/fuse), or undefined when it can. */
  unavailable?(): string | undefined;
  /** A fresh tree holding the fixture, private to one test. */
  setup(): Promise<Handle>;
}

export interface Handle {
  fs: FsLike;
  /** Root's fs over the same tree, where `fs` acts as an ordinary user (permission tests). */
  admin?: FsLike;
  /** Prefix that turns a fixture path ('/dir/a.txt') into the target's path ('' in memory). */
  root: string;
  cleanup(): Promise<void> | void;
}
