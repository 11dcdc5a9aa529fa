import { ErrnoError } from '../errno.js';
import { type Caller, type UnionView, access, resolveParent } from '../union/index.js';
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
  /**
   * The user the fs acts as (default 0, root, which every permission allows). Any other uid gets
   * Linux's permission checks (EACCES, EPERM) and owns what it creates.
   */
  uid?: number;
  /** Its group (default: the uid's number, as a user's own group usually is). */
  gid?: number;
  /** Its supplementary groups. */
  groups?: readonly number[];
}

/** A change made through the fs, as watch and watchFile see it (inotify's two event kinds). */
export interface ChangeEvent {
  type: 'rename' | 'change';
  /** The absolute path the operation used (not canonical: watch resolves it when it listens). */
  path: string;
}

const { ROOT } = access;

// Who listens to changes of a view, whichever fs object over it made them (watch, watchFile).
const changeListeners = new WeakMap<UnionView, Set<(event: ChangeEvent) => void>>();

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
  // Made on first use: an fs object that opens no file costs no table.
  private fdTable: FdTable | undefined;
  private device: number | undefined;

  /** Who calls: root unless the fs was created for a user. */
  readonly caller: Caller;
  /** The caller when permissions are checked (not root); undefined for root, who skips them. */
  protected readonly checked: Caller | undefined;

  constructor(view: UnionView, options: LayerFsOptions = {}) {
    this.view = view;
    this.umask = options.umask ?? 0o022;
    this.cwdPath = options.cwd ?? '/';
    const uid = options.uid ?? 0;
    this.caller = uid === 0 && options.gid === undefined ? ROOT : { uid, gid: options.gid ?? uid, groups: options.groups };
    this.checked = uid === 0 ? undefined : this.caller;
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
    return this.view.resolve(this.abs(path), { follow, caller: this.checked });
  }

  // ---- permissions (a user's fs; root skips them all) -----------------------------------------

  /** EACCES unless the caller may read, write or execute (MAY_*) the inode. */
  protected checkInode(ino: number, want: number): void {
    if (this.checked && want !== 0) access.checkPermission(this.view.owned(ino), this.checked, want);
  }

  /** Making a name at `full`: search on the way, write and search on its directory. */
  protected checkCreate(full: string, follow = false): void {
    if (!this.checked) return;
    const { dir } = resolveParent(this.view, full, { follow, caller: this.checked });
    access.checkPermission(this.view.owned(dir), this.checked, access.MAY_WRITE | access.MAY_EXEC);
  }

  /** Taking away the name at `full`: write and search on its directory, the sticky rule. */
  protected checkRemove(full: string): void {
    if (!this.checked) return;
    const { dir, name } = resolveParent(this.view, full, { follow: false, caller: this.checked });
    const victim = this.view.lookup(dir, name);
    if (victim !== undefined) access.checkRemove(this.view.owned(dir), this.view.owned(victim), this.checked);
  }

  /** chmod, chown of the owner's own and utimes: the owner or root only (EPERM). */
  protected checkOwner(ino: number): void {
    if (this.checked) access.checkOwner(this.view.owned(ino), this.checked);
  }

  /** A user's write or truncate drops the set-id bits (root keeps them: CAP_FSETID). */
  protected dropSetIds(ino: number): void {
    if (!this.checked) return;
    const mode = access.modeAfterWrite(this.view.owned(ino), this.checked);
    if (mode !== undefined) this.view.chmod(ino, mode);
  }

  protected statsOf(ino: number, bigint: boolean): Stats | BigIntStats {
    const stat = this.view.stat(ino);
    return bigint ? new BigIntStats(stat, this.dev) : new Stats(stat, this.dev);
  }

  /**
   * Subscribes to changes made through any fs object over this fs's view (two fs objects of one
   * container see each other's changes, as two processes do); returns the unsubscribe function.
   */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    let listeners = changeListeners.get(this.view);
    if (!listeners) changeListeners.set(this.view, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  protected changed(type: ChangeEvent['type'], path: string): void {
    const listeners = changeListeners.get(this.view);
    if (!listeners?.size) return;
    for (const listener of listeners) listener({ type, path });
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
