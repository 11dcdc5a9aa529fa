import * as path from 'node:path';
import { IdMap } from '../overlay/ids.js';
import type { OverlayConfig } from '../overlay/open.js';

export const OVERLAY_USAGE = [
  'Usage: layerfs overlay [-f] -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR][,OPTION...] [SOURCE] MOUNTPOINT',
  '       layerfs-overlay (the same, for mount -t fuse.layerfs-overlay and storage.conf\'s mount_program)',
  '',
  'Serves directories in overlay format (kernel overlayfs, fuse-overlayfs and containers-storage',
  'layers) as one union, as fuse-overlayfs does: lowerdirs top first, changes made in upperdir',
  'in overlay format (whiteouts, opaque directories; a renamed lower directory gets a redirect',
  'xattr instead of EXDEV). Returns once the mount is live and serves in the background until',
  'unmounted (-f: in the foreground).',
  '',
  'Options (-o, comma-separated):',
  '  lowerdir=A:B          lower directories, top first',
  '  upperdir=U,workdir=W  where changes go (W on the same filesystem as U); without them read-only',
  '  uidmapping=C:H:N[:...], gidmapping=C:H:N[:...]  ids in the mount (C) and on disk (H)',
  '  squash_to_root        everything shows as owned by root',
  '  allow_other           let other users in (permissions are always checked by the kernel)',
  '  volatile, fsync=0     fsync does not reach the disk',
  '  timeout=SECONDS       how long the kernel caches names and attributes (default 1000000000)',
  '  debug                 log every FUSE request',
  '  suid, dev             honour setuid bits and device files (default: nosuid, nodev)',
  'Generic mount options (rw, exec, atime, ...) are accepted; others are ignored with a warning.',
  '',
].join('\n');

export interface OverlayArgs {
  config: OverlayConfig;
  mountpoint: string;
  foreground: boolean;
  allowOther: boolean;
  /** Honour setuid bits and device files: off unless asked (`suid`, `dev`), as libfuse mounts. */
  suid: boolean;
  dev: boolean;
  debug: boolean;
  volatile: boolean;
  /** How long the kernel may trust names and attributes (fuse-overlayfs's `timeout=`, default as its). */
  cacheSeconds: number;
  warnings: string[];
}

/**
 * fuse-overlayfs's default timeout: the union changes only through the mount, which tells the
 * kernel, and lower layers do not change while mounted.
 */
const DEFAULT_CACHE_SECONDS = 1_000_000_000;

/** Options mount(8) and mount.fuse3 pass to every FUSE program: they need nothing from us. */
const GENERIC = new Set([
  'rw', 'ro', 'exec', 'noexec', 'atime', 'noatime', 'relatime', 'norelatime',
  'strictatime', 'diratime', 'nodiratime', 'sync', 'async', 'auto', 'noauto', 'user', 'nouser', 'users', 'nofail',
  '_netdev', 'default_permissions', 'defaults', 'silent', 'loud', 'lazytime', 'nolazytime',
]);

export class OverlayUsageError extends Error {}

/**
 * fuse-overlayfs's command line: `-o OPTS` anywhere (repeatable, or `-oOPTS`), then MOUNTPOINT,
 * or SOURCE MOUNTPOINT as mount.fuse3 calls it.
 */
export function parseOverlayArgs(args: readonly string[], cwd = process.cwd()): OverlayArgs {
  const options: string[] = [];
  const positionals: string[] = [];
  let foreground = false;
  for (let at = 0; at < args.length; at++) {
    const arg = args[at]!;
    if (arg === '-o') {
      const value = args[++at];
      if (value === undefined) throw new OverlayUsageError('-o needs options');
      options.push(...splitOptions(value));
    } else if (arg.startsWith('-o')) options.push(...splitOptions(arg.slice(2)));
    else if (arg === '-f') foreground = true;
    else if (arg.startsWith('-') && arg !== '-') throw new OverlayUsageError(`unknown flag ${arg}`);
    else positionals.push(arg);
  }
  if (positionals.length < 1 || positionals.length > 2) throw new OverlayUsageError(positionals.length === 0 ? 'missing MOUNTPOINT' : 'too many arguments');
  const result: OverlayArgs = {
    config: { lowerdirs: [] },
    mountpoint: path.resolve(cwd, positionals.at(-1)!),
    foreground,
    allowOther: false,
    suid: false,
    dev: false,
    debug: false,
    volatile: false,
    cacheSeconds: DEFAULT_CACHE_SECONDS,
    warnings: [],
  };
  const config = result.config as { -readonly [K in keyof OverlayConfig]: OverlayConfig[K] };
  for (const option of options) {
    const equals = option.indexOf('=');
    const key = equals < 0 ? option : option.slice(0, equals);
    const value = equals < 0 ? '' : option.slice(equals + 1);
    switch (key) {
      case 'lowerdir':
        // containers-storage may name lowers relative to its own directory (the program's cwd).
        config.lowerdirs = value.split(':').filter((dir) => dir !== '').map((dir) => path.resolve(cwd, dir));
        break;
      case 'upperdir':
        config.upperdir = path.resolve(cwd, value);
        break;
      case 'workdir':
        config.workdir = path.resolve(cwd, value);
        break;
      case 'uidmapping':
        config.uids = parseIds(value, key);
        break;
      case 'gidmapping':
        config.gids = parseIds(value, key);
        break;
      case 'squash_to_root':
        config.squashToRoot = true;
        break;
      case 'allow_other':
        result.allowOther = true;
        break;
      case 'suid':
      case 'nosuid':
        result.suid = key === 'suid';
        break;
      case 'dev':
      case 'nodev':
        result.dev = key === 'dev';
        break;
      case 'debug':
        result.debug = true;
        break;
      case 'volatile':
        result.volatile = true;
        break;
      case 'timeout':
        if (!/^\d+(\.\d+)?$/.test(value)) throw new OverlayUsageError(`timeout= takes seconds, not ${JSON.stringify(value)}`);
        result.cacheSeconds = Number(value);
        break;
      case 'fsync':
        result.volatile = value === '0';
        break;
      default:
        if (!GENERIC.has(key)) result.warnings.push(`ignoring unknown option ${JSON.stringify(option)}`);
    }
  }
  return result;
}

function splitOptions(text: string): string[] {
  return text.split(',').filter((option) => option !== '');
}

function parseIds(value: string, option: string): IdMap {
  try {
    return IdMap.parse(value, option);
  } catch (error) {
    throw new OverlayUsageError((error as Error).message);
  }
}
