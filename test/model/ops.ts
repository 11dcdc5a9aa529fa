import { Volume } from 'memfs';
import { Container, ErrnoError } from '../../src/index.js';

/** One step of a random scenario, applied the same way to a container and to a memfs volume. */
export type Op =
  | { op: 'write'; path: string; data: string }
  | { op: 'pwrite'; path: string; data: string; position: number }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'mkdir'; path: string }
  | { op: 'unlink'; path: string }
  | { op: 'rmdir'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'commit' }
  | { op: 'fork' };

/** The outcome of an op: 'ok' or the errno code. */
export type Outcome = string;

function outcome(action: () => void): Outcome {
  try {
    action();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code !== 'string') throw error;
    return code;
  }
}

export class ContainerTarget {
  constructor(public container: Container) {}

  apply(step: Op): Outcome {
    const c = this.container;
    return outcome(() => {
      switch (step.op) {
        case 'write': {
          const ino = c.exists(step.path) ? c.resolve(step.path) : c.createFile(step.path);
          c.truncate(ino, 0);
          c.write(ino, 0, Buffer.from(step.data));
          return;
        }
        case 'pwrite':
          c.write(c.resolve(step.path), step.position, Buffer.from(step.data));
          return;
        case 'truncate':
          c.truncate(c.resolve(step.path), step.size);
          return;
        case 'mkdir':
          c.mkdir(step.path, 0o755);
          return;
        case 'unlink':
          c.unlink(step.path);
          return;
        case 'rmdir':
          c.rmdir(step.path);
          return;
        case 'rename':
          c.rename(step.from, step.to);
          return;
        case 'chmod':
          c.chmod(c.resolve(step.path), step.mode);
          return;
        case 'symlink':
          c.symlink(step.target, step.path);
          return;
        case 'link':
          c.link(step.from, step.to);
          return;
        case 'commit':
          this.container = new Container(c.commit().image, c.store);
          return;
        case 'fork':
          this.container = c.fork();
          return;
      }
    });
  }
}

/**
 * The reference: a plain memfs volume. Where memfs departs from Linux (it does not follow symlinks in
 * the middle of a path, renames a directory into its own subtree or over a non-empty one, renames
 * what a symlink points to instead of the link,
 * hard-links directories, and answers EPERM to unlink of a directory), Linux's answer is given here first.
 */
export class MemfsTarget {
  readonly vol: InstanceType<typeof Volume>;

  constructor(json: Record<string, string | null>) {
    this.vol = Volume.fromJSON(json);
    // Layers default to 0755 directories and 0644 files; fromJSON makes 0777 and 0666.
    for (const path of Object.keys(json)) {
      for (let at = path.indexOf('/', 1); at !== -1; at = path.indexOf('/', at + 1)) this.vol.chmodSync(path.slice(0, at), 0o755);
      this.vol.chmodSync(path, json[path] === null ? 0o755 : 0o644);
    }
  }

  private isDir(path: string): boolean {
    try {
      return this.vol.lstatSync(path).isDirectory();
    } catch {
      return false;
    }
  }

  private exists(path: string): boolean {
    try {
      this.vol.lstatSync(path);
      return true;
    } catch {
      return false;
    }
  }

  /** ENOENT or ENOTDIR as a walk to the path's parent meets them. */
  private checkParent(path: string): void {
    const names = path.split('/').filter(Boolean).slice(0, -1);
    for (let depth = 1; depth <= names.length; depth++) {
      const prefix = `/${names.slice(0, depth).join('/')}`;
      if (!this.exists(prefix)) throw new ErrnoError('ENOENT');
      if (!this.vol.statSync(prefix).isDirectory()) throw new ErrnoError('ENOTDIR');
    }
  }

  /** rename(2)'s rules that memfs skips. */
  private checkRename(from: string, to: string): void {
    // Linux resolves the source's parent, then the target's, then looks up the source.
    this.checkParent(from);
    this.checkParent(to);
    this.vol.lstatSync(from);
    const fromDir = this.isDir(from);
    if (fromDir && to !== from && (to + '/').startsWith(from + '/')) throw new ErrnoError('EINVAL');
    if (!this.exists(to) || this.vol.lstatSync(to).ino === this.vol.lstatSync(from).ino) return;
    if (this.isDir(to) && (from + '/').startsWith(to + '/')) throw new ErrnoError('ENOTEMPTY');
    const toDir = this.isDir(to);
    if (fromDir && !toDir) throw new ErrnoError('ENOTDIR');
    if (!fromDir && toDir) throw new ErrnoError('EISDIR');
    if (toDir && this.vol.readdirSync(to).length > 0) throw new ErrnoError('ENOTEMPTY');
  }

  /** The path with symlinks in its parent resolved (memfs does not follow them there). */
  private physical(path: string): string {
    const at = path.lastIndexOf('/');
    try {
      const parent = at === 0 ? '/' : String(this.vol.realpathSync(path.slice(0, at)));
      return `${parent === '/' ? '' : parent}${path.slice(at)}`;
    } catch {
      return path;
    }
  }

  apply(given: Op): Outcome {
    const v = this.vol;
    const original = given as Op & Partial<Record<'path' | 'from' | 'to', string>>;
    const step = { ...original };
    for (const key of ['path', 'from', 'to'] as const) {
      const path = step[key];
      if (path !== undefined) step[key] = this.physical(path);
    }
    return outcome(() => {
      if (typeof original.path === 'string') this.checkParent(original.path);
      switch (step.op) {
        case 'write':
          v.writeFileSync(step.path, step.data);
          return;
        case 'pwrite': {
          const fd = v.openSync(step.path, 'r+');
          try {
            v.writeSync(fd, Buffer.from(step.data), 0, step.data.length, step.position);
          } finally {
            v.closeSync(fd);
          }
          return;
        }
        case 'truncate':
          v.truncateSync(step.path, step.size);
          return;
        case 'mkdir':
          v.mkdirSync(step.path, 0o755);
          return;
        case 'unlink':
          // Linux answers EISDIR where memfs answers EPERM (as macOS does).
          if (this.isDir(step.path)) throw new ErrnoError('EISDIR');
          v.unlinkSync(step.path);
          return;
        case 'rmdir':
          v.rmdirSync(step.path);
          return;
        case 'rename':
          this.checkRename(original.from!, original.to!);
          // Two names of one inode: rename(2) does nothing.
          if (this.exists(step.to) && v.lstatSync(step.to).ino === v.lstatSync(step.from).ino) return;
          if (v.lstatSync(step.from).isSymbolicLink()) {
            // memfs renames what a symlink points to: move the link itself.
            const target = String(v.readlinkSync(step.from));
            if (this.exists(step.to)) v.unlinkSync(step.to);
            v.unlinkSync(step.from);
            v.symlinkSync(target, step.to);
            return;
          }
          v.renameSync(step.from, step.to);
          return;
        case 'chmod':
          v.chmodSync(step.path, step.mode);
          return;
        case 'symlink':
          v.symlinkSync(step.target, step.path);
          return;
        case 'link':
          v.lstatSync(step.from);
          this.checkParent(original.to!);
          if (this.isDir(step.from) && !this.exists(step.to)) throw new ErrnoError('EPERM');
          v.linkSync(step.from, step.to);
          return;
        case 'commit':
        case 'fork':
          return;
      }
    });
  }
}

/** The whole tree of a container: kind, permission bits, content or target, and link groups. */
export function containerTree(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  const firstName = new Map<number, string>();
  const visit = (dir: number, prefix: string) => {
    for (const entry of c.readdir(dir)) {
      const path = `${prefix}/${entry.name}`;
      out[path] = describe(entry.kind, c.stat(entry.ino).mode & 0o7777, () => Buffer.from(c.readAll(entry.ino)).toString(), () => c.readlink(entry.ino));
      if (entry.kind === 'file') {
        const first = firstName.get(entry.ino);
        if (first === undefined) firstName.set(entry.ino, path);
        else out[path] += ` =${first}`;
      }
      if (entry.kind === 'dir') visit(entry.ino, path);
    }
  };
  visit(c.resolve('/'), '');
  return out;
}

/** The same description of a tree read through any node:fs-like API, below `root`. */
export function fsTree(fs: Pick<typeof import('node:fs'), 'readdirSync' | 'lstatSync' | 'readFileSync' | 'readlinkSync'>, root = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const firstName = new Map<number, string>();
  const visit = (dir: string) => {
    for (const name of (fs.readdirSync(`${root}${dir}` || '/') as unknown[]).map(String).sort()) {
      const path = `${dir}/${name}`;
      const stat = fs.lstatSync(`${root}${path}`);
      const kind = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file';
      out[path] = describe(kind, Number(stat.mode) & 0o7777, () => String(fs.readFileSync(`${root}${path}`)), () => String(fs.readlinkSync(`${root}${path}`)));
      if (kind === 'file') {
        const first = firstName.get(Number(stat.ino));
        if (first === undefined) firstName.set(Number(stat.ino), path);
        else out[path] += ` =${first}`;
      }
      if (kind === 'dir') visit(path);
    }
  };
  visit('');
  return out;
}

function describe(kind: string, mode: number, content: () => string, target: () => string): string {
  if (kind === 'file') return `file ${mode.toString(8)} ${JSON.stringify(content())}`;
  if (kind === 'symlink') return `symlink ${target()}`;
  return `${kind} ${mode.toString(8)}`;
}
