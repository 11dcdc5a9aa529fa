import { ErrnoError } from '../errno.js';
import type { UnionView } from '../union/index.js';
import { toPath } from './args.js';
import { edge } from './errors.js';
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

// One st_dev per view: every fs object over the same container reports the same device, so
// (dev, ino) names an inode however many fs objects look at it.
const devices = new WeakMap<UnionView, number>();
let nextDevice = 0x4c01;

/**
 * The state every part of the sync core shares: the union view it translates to, the file
 * descriptors, the working directory and umask, and the listeners of changes. The operations
 * themselves live in files.ts (by file descriptor) and fs.ts (by path).
 */
export class FsBase {
  readonly view: UnionView;
  umask: number;
  protected cwdPath: string;
  // Made on first use: an fs object that opens no file and has no watcher costs neither.
  private fdTable: FdTable | undefined;
  private changeListeners: Set<(event: ChangeEvent) => void> | undefined;
  private device: number | undefined;

  constructor(view: UnionView, options: LayerFsOptions = {}) {
    this.view = view;
    this.umask = options.umask ?? 0o022;
    this.cwdPath = options.cwd ?? '/';
  }

  get fds(): FdTable {
    return (this.fdTable ??= new FdTable());
  }

  /** st_dev of every inode of the view. */
  get dev(): number {
    if (this.device === undefined) {
      let dev = devices.get(this.view);
      if (dev === undefined) devices.set(this.view, (dev = nextDevice++));
      this.device = dev;
    }
    return this.device;
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
    const listeners = (this.changeListeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  protected changed(type: ChangeEvent['type'], path: string): void {
    if (!this.changeListeners?.size) return;
    for (const listener of this.changeListeners) listener({ type, path });
  }

  /** Resolves a path and changes its inode; errors carry the syscall and the caller's path. */
  protected onPath<T>(path: unknown, syscall: string, follow: boolean, action: (ino: number) => T): T {
    const p = toPath(path);
    let result: T;
    try {
      result = action(this.inoOf(p, follow));
    } catch (error) {
      throw edge(error, syscall, p);
    }
    this.changed('change', this.abs(p));
    return result;
  }

  protected get readOnly(): boolean {
    return this.view.readOnly;
  }
}
