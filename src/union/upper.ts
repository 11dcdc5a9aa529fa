import type { Meta } from '../layer/index.js';
import { type FileData, cloneFileData } from './file-data.js';

/** Metadata of an upper inode: mutable, and with its own link count. */
export type UpperMeta = { -readonly [K in Exclude<keyof Meta, 'xattrs'>]: Meta[K] } & {
  xattrs: Map<string, Uint8Array>;
  nlink: number;
};

export interface UpperFile extends UpperMeta {
  kind: 'file';
  data: FileData;
}

export interface UpperDir extends UpperMeta {
  kind: 'dir';
  /** The merged lower directories under this one, top first (empty for a new or opaque dir). */
  lowers: readonly number[];
  /** Hides everything lower layers hold at this path (a directory recreated over a deleted one). */
  opaque: boolean;
  /** Changes to the merged listing: a name to an inode, or to WHITEOUT (0) to hide a lower name. */
  entries: Map<string, number>;
}

export interface UpperSymlink extends UpperMeta {
  kind: 'symlink';
  target: string;
}

export interface UpperSpecial extends UpperMeta {
  kind: 'chardev' | 'blockdev' | 'fifo' | 'socket';
  rdev: number;
}

/** An inode of a container's private writable layer, keyed by its union inode number. */
export type UpperInode = UpperFile | UpperDir | UpperSymlink | UpperSpecial;

/** A private copy of an inode shared with a fork, made before its first change. */
export function cloneUpperInode(inode: UpperInode): UpperInode {
  const xattrs = new Map(inode.xattrs);
  switch (inode.kind) {
    case 'file':
      return { ...inode, xattrs, data: cloneFileData(inode.data) };
    case 'dir':
      return { ...inode, xattrs, entries: new Map(inode.entries) };
    default:
      return { ...inode, xattrs };
  }
}
