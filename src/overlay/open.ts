import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type ErrnoError, isErrno } from '../errno.js';
import { MemoryBlobStore } from '../store/index.js';
import { Image, UnionView } from '../union/index.js';
import { type DirLayer, type ScanOptions, scanDirLayer } from './dir-layer.js';
import { overlayXattr } from './format.js';
import { IdMap } from './ids.js';
import { UpperDir } from './upper-dir.js';
import { OverlayView } from './view.js';
import { checkXattrAddon, removeXattr, setXattr } from './xattr.js';

export interface OverlayConfig {
  /** Top first, as lowerdir=A:B lists them. */
  lowerdirs: readonly string[];
  upperdir?: string;
  workdir?: string;
  uids?: IdMap;
  gids?: IdMap;
  squashToRoot?: boolean;
}

/** A configuration that cannot be mounted; the message says which directory and why. */
export class OverlayError extends Error {}

/**
 * Checks the directories, reads the layers and returns the union, ready to mount: every problem
 * is found here, before anything is mounted.
 */
export function openOverlay(config: OverlayConfig): OverlayView {
  checkXattrAddon();
  if (config.lowerdirs.length === 0) throw new OverlayError('lowerdir= is missing: name at least one lower directory');
  if ((config.upperdir === undefined) !== (config.workdir === undefined)) {
    throw new OverlayError('upperdir= and workdir= go together: copy-ups are made in the work directory and renamed into the upper one');
  }
  for (const dir of config.lowerdirs) checkDir(dir, 'lowerdir', fs.constants.R_OK | fs.constants.X_OK);
  const privileged = process.getuid?.() === 0;
  if (config.upperdir !== undefined) checkUpper(config.upperdir, config.workdir!, privileged);
  const scan: ScanOptions = { uids: config.uids, gids: config.gids, squashToRoot: config.squashToRoot };
  const lowers = config.lowerdirs.map((dir) => scanOrFail(dir, 'lowerdir', scan));
  checkWhiteouts(lowers);
  if (config.upperdir === undefined) return new OverlayView(lowers);
  const upperdir = nodePath.resolve(config.upperdir);
  const workdir = nodePath.resolve(config.workdir!);
  // Read whole now: the mount changes the upper directory as it goes.
  const layer = scanOrFail(upperdir, 'upperdir', { ...scan, eager: true });
  return new OverlayView(lowers, {
    layer,
    disk: (view) =>
      new UpperDir(upperdir, workdir, (path) => view.describePath(path), {
        uids: config.uids,
        gids: config.gids,
        keepOwners: config.squashToRoot,
        privileged,
      }),
  });
}

function checkDir(dir: string, option: string, access: number): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OverlayError(`${option} ${dir}: ${code === 'ENOENT' ? 'no such directory' : (error as Error).message}`);
  }
  if (!stat.isDirectory()) throw new OverlayError(`${option} ${dir}: not a directory`);
  try {
    fs.accessSync(dir, access);
  } catch {
    throw new OverlayError(`${option} ${dir}: permission denied (it must be ${access & fs.constants.W_OK ? 'writable' : 'readable'} by this user)`);
  }
  return stat;
}

function checkUpper(upperdir: string, workdir: string, privileged: boolean): void {
  const access = fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK;
  const upper = checkDir(upperdir, 'upperdir', access);
  const work = checkDir(workdir, 'workdir', access);
  if (upper.dev !== work.dev) {
    throw new OverlayError(`workdir ${workdir} is on another filesystem than upperdir ${upperdir}: copy-ups are renamed from one into the other`);
  }
  const [up, wk] = [nodePath.resolve(upperdir), nodePath.resolve(workdir)];
  if (up === wk || wk.startsWith(`${up}/`) || up.startsWith(`${wk}/`)) {
    throw new OverlayError(`workdir ${workdir} and upperdir ${upperdir} must be separate directories, neither inside the other`);
  }
  // Opaque directories and redirects live in xattrs: an upper layer without them would be wrong.
  const probe = nodePath.join(workdir, `layerfs-probe-${process.pid}`);
  fs.writeFileSync(probe, '');
  try {
    const name = overlayXattr('opaque', privileged);
    setXattr(probe, name, Buffer.from('y'));
    removeXattr(probe, name);
  } catch (error) {
    if (!isErrno(error, 'ENOTSUP') && !isErrno(error, 'EPERM')) throw error;
    throw new OverlayError(`upperdir ${upperdir} is on a filesystem without extended attributes (setting ${overlayXattr('opaque', privileged)} failed with ${(error as ErrnoError).code}); an overlay upper layer keeps opaque directories and redirects in them`);
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

function scanOrFail(dir: string, option: string, options: ScanOptions): DirLayer {
  try {
    return scanDirLayer(dir, options);
  } catch (error) {
    throw new OverlayError(`${option} ${dir}: cannot read it: ${(error as Error).message}`);
  }
}

/**
 * A whiteout hides a name of a layer below; one that hides nothing means the layers are not the
 * stack they were made in (a missing or reordered lowerdir), so the tree would be wrong. The name
 * is looked for where the whiteout's directory continues below, redirects followed.
 */
function checkWhiteouts(lowers: readonly DirLayer[]): void {
  const bottomFirst = [...lowers].reverse();
  for (let index = 0; index < bottomFirst.length; index++) {
    const layer = bottomFirst[index]!;
    let whiteouts: readonly string[];
    try {
      whiteouts = layer.whiteouts();
    } catch (error) {
      throw new OverlayError(`lowerdir ${layer.root}: cannot read it: ${(error as Error).message}`);
    }
    if (whiteouts.length === 0) continue;
    const upTo = bottomFirst.slice(0, index + 1);
    const image = new Image(upTo.map((dir) => dir.layer), { redirect: (at, ino) => upTo[at]!.redirects.get(ino) });
    const view = new UnionView(image, new MemoryBlobStore(), { readOnly: true });
    for (const path of whiteouts) {
      const parent = view.find(nodePath.posix.dirname(path), { follow: false });
      const below = typeof parent === 'number' ? image.lowers(parent).filter((part) => image.origin(part)!.layer < index) : [];
      if (image.lookup(below, nodePath.posix.basename(path)) === undefined) {
        throw new OverlayError(
          index === 0
            ? `lowerdir ${layer.root} is the bottom layer but has a whiteout for ${path}, which hides nothing: is a lower directory missing?`
            : `lowerdir ${layer.root} has a whiteout for ${path}, which no lower directory below it holds: are the lowerdirs complete and in order (top first)?`,
        );
      }
    }
  }
}
