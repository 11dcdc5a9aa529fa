import { ErrnoError } from '../errno.js';
import type { UnionView } from '../union/index.js';
import { FdTable } from './fd-table.js';
import { BigIntStats, Stats } from './stats.js';

export interface LayerFsOptions {
  /**
   * Cleared from the mode of every file and directory created, as the process umask is on Linux
   * (default 0o022, what Node sees in a usual shell).
   */
  umask?: number;
  /** Where relative paths start (default '/'); `chdir` moves it. */
  cwd?: string;
}

/** A change made through the fs, as watch and watchFile see it (inotify's two event kinds). */
export interface ChangeEvent {
  type: 'rename' | 'change';
  /** The absolute path the operation used (not canonical: watch resolves it when it listens). */
  path: string;
}

let devices = 0;

/**
 * The state every part of the sync core shares: the union view it translates to, the file
 * descriptors, the working directory and umask, and the listeners of changes. The operations
 * themselves live in files.ts (by file descriptor) and fs.ts (by path).
 */
export class FsBase {
  readonly view: UnionView;
  readonly fds = new FdTable();
  /** st_dev of every inode: one device per fs object, so (dev, ino) pairs never collide across them. */
  readonly dev: number;
  umask: number;
  protected cwdPath: string;
  private readonly changeListeners = new Set<(event: ChangeEvent) => void>();

  constructor(view: UnionView, options: LayerFsOptions = {}) {
    this.view = view;
    this.dev = 0x4c00 + ++devices;
    this.umask = options.umask ?? 0o022;
    this.cwdPath = options.cwd ?? '/';
  }

  /** The absolute path for a caller's path: relative paths start at the working directory. */
  abs(path: string): string {
    if (path.charCodeAt(0) === 47 /* '/' */) return path;
    // An empty path names nothing (ENOENT), it is not the working directory.
    if (path === '') throw new ErrnoError('ENOENT');
    return this.cwdPath === '/' ? `/${path}` : `${this.cwdPath}/${path}`;
  }

  protected inoOf(path: string, follow = true): number {
    return this.view.resolve(this.abs(path), { follow });
  }

  protected statsOf(ino: number, bigint: boolean): Stats | BigIntStats {
    const stat = this.view.stat(ino);
    return bigint ? new BigIntStats(stat, this.dev) : new Stats(stat, this.dev);
  }

  /** Subscribes to changes made through this fs; returns the unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  protected changed(type: ChangeEvent['type'], path: string): void {
    if (this.changeListeners.size === 0) return;
    for (const listener of this.changeListeners) listener({ type, path });
  }

  protected get readOnly(): boolean {
    return this.view.readOnly;
  }
}
