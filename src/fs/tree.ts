import { posix } from 'node:path';
import { type Errno, errnoNumber, isErrno } from '../errno.js';
import { toBoolean, toFunction, toInt } from './args.js';
import { SystemError } from './errors.js';
import type { LayerFs } from './fs.js';
import type { BigIntStats } from './stats.js';

/**
 * rm and cp: whole-tree operations written over the fs's own sync calls, as Node writes them
 * (lib/internal/fs/rimraf.js, lib/internal/fs/cp/cp-sync.js), so inner failures carry the
 * syscall that failed (lstat, unlink, rmdir, copyfile) and the refusals are Node's SystemErrors.
 */

export interface RmOptions {
  force?: boolean;
  recursive?: boolean;
  maxRetries?: number;
  retryDelay?: number;
}

export function rmSync(fs: LayerFs, path: string, options: RmOptions = {}): void {
  const force = toBoolean(options.force, 'options.force', false);
  const recursive = toBoolean(options.recursive, 'options.recursive', false);
  let stats;
  try {
    stats = fs.lstatSync(path)!;
  } catch (error) {
    if (force && isErrno(error, 'ENOENT')) return;
    if (!(force && recursive)) throw error;
    // Node's rimraf goes on to unlink what it could not lstat, and reports that failure instead.
    try {
      return fs.unlinkSync(path);
    } catch (unlinking) {
      if (isErrno(unlinking, 'ENOENT')) return;
      throw unlinking;
    }
  }
  if (!stats.isDirectory()) return fs.unlinkSync(path);
  if (!recursive) {
    throw new SystemError('ERR_FS_EISDIR', 'Path is a directory', { code: 'EISDIR', message: 'is a directory', path, syscall: 'rm' });
  }
  removeTree(fs, path);
}

function removeTree(fs: LayerFs, path: string): void {
  for (const entry of fs.readdirSync(path, { withFileTypes: true }) as { name: string; isDirectory(): boolean }[]) {
    const child = `${path.replace(/\/+$/, '')}/${entry.name}`;
    if (entry.isDirectory()) removeTree(fs, child);
    else fs.unlinkSync(child);
  }
  fs.rmdirSync(path);
}

export interface CpOptions {
  dereference?: boolean;
  errorOnExist?: boolean;
  filter?: (source: string, destination: string) => boolean;
  force?: boolean;
  mode?: number;
  preserveTimestamps?: boolean;
  recursive?: boolean;
  verbatimSymlinks?: boolean;
}

type Options = Required<Omit<CpOptions, 'filter'>> & Pick<CpOptions, 'filter'>;

/** fs.cpSync: a file, a symlink or (recursive) a tree; files share chunks through copyFileSync. */
export function cpSync(fs: LayerFs, src: string, dest: string, options: CpOptions = {}): void {
  const opts: Options = {
    dereference: toBoolean(options.dereference, 'options.dereference', false),
    errorOnExist: toBoolean(options.errorOnExist, 'options.errorOnExist', false),
    force: toBoolean(options.force, 'options.force', true),
    mode: options.mode === undefined ? 0 : toInt(options.mode, 'options.mode', 0, 7),
    preserveTimestamps: toBoolean(options.preserveTimestamps, 'options.preserveTimestamps', false),
    recursive: toBoolean(options.recursive, 'options.recursive', false),
    verbatimSymlinks: toBoolean(options.verbatimSymlinks, 'options.verbatimSymlinks', false),
    filter: options.filter === undefined ? undefined : (toFunction(options.filter, 'options.filter') as CpOptions['filter']),
  };
  const checked = checkPaths(fs, src, dest, opts);
  if (!checked) return;
  checkParentPaths(fs, src, checked.srcStat, dest);
  const parent = posix.dirname(dest);
  if (!fs.existsSync(parent)) fs.mkdirSync(parent, { recursive: true });
  copyEntry(fs, checked.destStat, src, dest, opts);
}

function cpError(key: string, prefix: string, code: Errno, message: string, path: string, errno: Errno = code): SystemError {
  return new SystemError(key, prefix, { code, message, path, syscall: 'cp' }, errnoNumber(errno));
}

function statOf(fs: LayerFs, path: string, opts: Options): BigIntStats {
  return (opts.dereference ? fs.statSync(path, { bigint: true }) : fs.lstatSync(path, { bigint: true })) as BigIntStats;
}

function identical(a: BigIntStats, b: BigIntStats): boolean {
  return b.ino !== 0n && b.dev !== 0n && a.ino === b.ino && a.dev === b.dev;
}

function isSubdir(fs: LayerFs, src: string, dest: string): boolean {
  const from = posix.resolve(fs.cwd(), src).split('/').filter(Boolean);
  const to = posix.resolve(fs.cwd(), dest).split('/').filter(Boolean);
  return from.every((name, i) => to[i] === name);
}

function checkPaths(fs: LayerFs, src: string, dest: string, opts: Options): { srcStat: BigIntStats; destStat: BigIntStats | undefined } | undefined {
  if (opts.filter && !opts.filter(src, dest)) return undefined;
  const srcStat = statOf(fs, src, opts);
  let destStat: BigIntStats | undefined;
  try {
    destStat = statOf(fs, dest, opts);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  if (destStat) {
    if (identical(srcStat, destStat)) throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'src and dest cannot be the same', dest);
    if (srcStat.isDirectory() && !destStat.isDirectory()) {
      throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', 'Cannot overwrite non-directory with directory', 'EISDIR', `cannot overwrite non-directory ${dest} with directory ${src}`, dest);
    }
    if (!srcStat.isDirectory() && destStat.isDirectory()) {
      throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', 'Cannot overwrite directory with non-directory', 'ENOTDIR', `cannot overwrite directory ${dest} with non-directory ${src}`, dest);
    }
  }
  if (srcStat.isDirectory() && isSubdir(fs, src, dest)) {
    throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${src} to a subdirectory of self ${dest}`, dest);
  }
  return { srcStat, destStat };
}

function checkParentPaths(fs: LayerFs, src: string, srcStat: BigIntStats, dest: string): void {
  const srcParent = posix.resolve(fs.cwd(), posix.dirname(src));
  const destParent = posix.resolve(fs.cwd(), posix.dirname(dest));
  if (destParent === srcParent || destParent === '/') return;
  let destStat: BigIntStats;
  try {
    destStat = fs.statSync(destParent, { bigint: true }) as BigIntStats;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  if (identical(srcStat, destStat)) throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${src} to a subdirectory of self ${dest}`, dest);
  checkParentPaths(fs, src, srcStat, destParent);
}

function copyEntry(fs: LayerFs, destStat: BigIntStats | undefined, src: string, dest: string, opts: Options): void {
  const srcStat = statOf(fs, src, opts);
  if (srcStat.isDirectory()) {
    if (!opts.recursive) throw cpError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', `${src} is a directory (not copied)`, src, 'EINVAL');
    if (!destStat) fs.mkdirSync(dest);
    for (const name of fs.readdirSync(src) as string[]) {
      const [from, to] = [posix.join(src, name), posix.join(dest, name)];
      const checked = checkPaths(fs, from, to, opts);
      if (checked) copyEntry(fs, checked.destStat, from, to, opts);
    }
    if (!destStat) fs.chmodSync(dest, Number(srcStat.mode));
  } else if (srcStat.isFile() || srcStat.isCharacterDevice() || srcStat.isBlockDevice()) {
    if (destStat) {
      if (!opts.force) {
        if (opts.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${dest} already exists`, dest);
        return;
      }
      fs.unlinkSync(dest);
    }
    fs.copyFileSync(src, dest, opts.mode);
    if (opts.preserveTimestamps) {
      const latest = fs.statSync(src)!;
      fs.utimesSync(dest, latest.atime, latest.mtime);
    }
    fs.chmodSync(dest, Number(srcStat.mode));
  } else if (srcStat.isSymbolicLink()) {
    copyLink(fs, destStat, src, dest, opts);
  } else if (srcStat.isSocket()) {
    throw cpError('ERR_FS_CP_SOCKET', 'Cannot copy a socket file', 'EINVAL', `cannot copy a socket file: ${dest}`, dest);
  } else if (srcStat.isFIFO()) {
    throw cpError('ERR_FS_CP_FIFO_PIPE', 'Cannot copy a FIFO pipe', 'EINVAL', `cannot copy a FIFO pipe: ${dest}`, dest);
  } else {
    throw cpError('ERR_FS_CP_UNKNOWN', 'Cannot copy an unknown file type', 'EINVAL', `cannot copy an unknown file type: ${dest}`, dest);
  }
}

function copyLink(fs: LayerFs, destStat: BigIntStats | undefined, src: string, dest: string, opts: Options): void {
  let target = fs.readlinkSync(src) as string;
  if (!opts.verbatimSymlinks && !posix.isAbsolute(target)) target = posix.resolve(fs.cwd(), posix.dirname(src), target);
  if (!destStat) return fs.symlinkSync(target, dest);
  let existing: string;
  try {
    existing = fs.readlinkSync(dest) as string;
  } catch (error) {
    if (isErrno(error, 'EINVAL')) return fs.symlinkSync(target, dest);
    throw error;
  }
  if (!posix.isAbsolute(existing)) existing = posix.resolve(fs.cwd(), posix.dirname(dest), existing);
  if (isSubdir(fs, target, existing)) {
    throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${target} to a subdirectory of self ${existing}`, dest);
  }
  if (fs.statSync(dest)!.isDirectory() && isSubdir(fs, existing, target)) {
    throw cpError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', 'Cannot overwrite symlink in subdirectory of self', 'EINVAL', `cannot overwrite ${existing} with ${target}`, dest);
  }
  fs.unlinkSync(dest);
  fs.symlinkSync(target, dest);
}
