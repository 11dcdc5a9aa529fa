import * as os from 'node:os';
import * as path from 'node:path';
import { type FuseMount, lazyUnmount, mountContainer } from '../fuse/index.js';
import { IdMap } from '../overlay/ids.js';
import { type OverlayConfig, OverlayError, openOverlay } from '../overlay/open.js';
import { EXIT } from './command.js';
import { DAEMON_ENV, notifyParent, startDaemon } from './daemon.js';

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
  '  debug                 log every FUSE request',
  'Generic mount options (rw, dev, suid, exec, atime, ...) are accepted; others are ignored with a warning.',
  '',
].join('\n');

export interface OverlayArgs {
  config: OverlayConfig;
  mountpoint: string;
  foreground: boolean;
  allowOther: boolean;
  debug: boolean;
  volatile: boolean;
  warnings: string[];
}

/** Options mount(8) and mount.fuse3 pass to every FUSE program: they need nothing from us. */
const GENERIC = new Set([
  'rw', 'ro', 'dev', 'nodev', 'suid', 'nosuid', 'exec', 'noexec', 'atime', 'noatime', 'relatime', 'norelatime',
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
    debug: false,
    volatile: false,
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
      case 'debug':
        result.debug = true;
        break;
      case 'volatile':
        result.volatile = true;
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

/**
 * Runs `layerfs overlay`: checks everything before mounting (a clear error, never a half-made
 * mount), then either serves in the foreground or starts itself in the background and returns
 * once the mount is live, as fuse-overlayfs does for podman's mount_program. `prefix` is what
 * came before `args` on the command line (`overlay`), for the background child.
 */
export async function runOverlay(args: readonly string[], err: (text: string) => void, prefix: readonly string[] = []): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(OVERLAY_USAGE);
    return EXIT.ok;
  }
  let parsed: OverlayArgs;
  try {
    parsed = parseOverlayArgs(args);
  } catch (error) {
    err(`layerfs overlay: ${(error as Error).message}\n${OVERLAY_USAGE}`);
    return EXIT.usage;
  }
  for (const warning of parsed.warnings) err(`layerfs overlay: ${warning}\n`);
  const child = process.env[DAEMON_ENV] !== undefined;
  try {
    if (!parsed.foreground && !child) {
      // Check in the foreground too, so the caller sees the error and no daemon starts.
      openOverlay(parsed.config).release();
      const logFile = path.join(parsed.config.workdir ?? os.tmpdir(), `layerfs-overlay.log`);
      await startDaemon([...prefix, ...args, '-f'], logFile);
      return EXIT.ok;
    }
    await serve(parsed, (line) => err(`${new Date().toISOString()} ${line}\n`));
  } catch (error) {
    if (child) notifyParent({ error: (error as Error).message });
    err(`layerfs overlay: ${(error as Error).message}\n`);
    if (process.env.LAYERFS_DEBUG) err(`${(error as Error).stack}\n`);
    return EXIT.failure;
  }
  return EXIT.ok;
}

async function serve(parsed: OverlayArgs, log: (line: string) => void): Promise<never> {
  // Modes arrive with the caller's umask applied by the kernel: files are made exactly so.
  process.umask(0);
  const view = openOverlay(parsed.config);
  if (parsed.volatile) view.flush = () => {};
  let mount: FuseMount;
  try {
    mount = await mountContainer(view, parsed.mountpoint, {
      // As fuse-overlayfs does for root: a container's non-root users must get in too; the
      // kernel still checks every permission (default_permissions).
      allowOther: parsed.allowOther || process.getuid?.() === 0,
      debug: parsed.debug,
      backend: 'kernel',
      onError: (error, op, at) => log(`layerfs overlay: ${op} ${at}: ${(error as Error).stack ?? String(error)}`),
    });
  } catch (error) {
    if (error instanceof OverlayError) throw error;
    throw new Error(`cannot mount at ${parsed.mountpoint}: ${(error as Error).message}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await mount.unmount();
    } catch {
      // Busy: detach, and the kernel ends the connection once the last program lets go.
      await lazyUnmount(parsed.mountpoint).catch(() => {});
    }
    view.release();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  // Unmounted by umount(8), fusermount -u or podman: everything is on disk already; exit.
  void mount.closed?.then(() => {
    view.release();
    process.exit(0);
  });
  if (process.env[DAEMON_ENV]) notifyParent({ ready: true, pid: process.pid });
  log(`layerfs overlay: serving ${parsed.config.lowerdirs.join(':')}${parsed.config.upperdir ? ` with changes in ${parsed.config.upperdir}` : ' read-only'} at ${parsed.mountpoint} (pid ${process.pid})`);
  return new Promise<never>(() => {});
}
