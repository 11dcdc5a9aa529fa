import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mainScript } from '../cli/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { isMounted, layerfsOverlay, overlayUnavailable, unmount } from './helpers.js';

const unavailable = overlayUnavailable();
if (unavailable) console.warn(`SKIPPED: layerfs overlay's refusals: ${unavailable}`);

const mounted: string[] = [];
afterEach(() => {
  for (const mountpoint of mounted.splice(0).reverse()) if (isMounted(mountpoint)) unmount(mountpoint);
});

/** A scratch root with a lower, an upper, a work directory and a mount point. */
function layout() {
  const root = tempDir('layerfs-ovl-bad-');
  const at = (name: string) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const lower = at('lower');
  fs.writeFileSync(`${lower}/file`, 'kept\n');
  return { root, lower, upper: at('upper'), work: at('work'), mnt: at('mnt'), at };
}

/** Runs layerfs overlay expecting a refusal: exit 1, the message, nothing mounted, the upper untouched. */
async function refused(options: string, mnt: string, message: RegExp, upper?: string): Promise<void> {
  const before = upper ? fs.readdirSync(upper) : [];
  const run = await layerfsOverlay(options, mnt);
  if (run.status === 0) mounted.push(mnt);
  expect(run.status, run.stderr).toBe(1);
  expect(run.stderr).toMatch(message);
  expect(isMounted(mnt)).toBe(false);
  if (upper) expect(fs.readdirSync(upper)).toEqual(before);
}

describe.skipIf(unavailable !== undefined)('layerfs overlay refuses bad directories before mounting', () => {
  it('a missing lowerdir', async () => {
    const { lower, mnt, root } = layout();
    await refused(`lowerdir=${lower}:${root}/nowhere`, mnt, /lowerdir .*\/nowhere: no such directory/);
  });

  it.skipIf(!fs.existsSync('/usr/bin/setpriv'))('an unreadable lowerdir (nobody\'s, for root without the capabilities that read everything)', () => {
    const { lower, mnt, root } = layout();
    fs.chmodSync(root, 0o755);
    fs.chownSync(lower, 65534, 65534);
    fs.chmodSync(lower, 0o700);
    // Still root, so the checkout (wherever it is, however private) stays readable.
    const run = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', process.execPath, '--import', 'tsx', mainScript, 'overlay', '-o', `lowerdir=${lower}`, mnt], {
      cwd: path.resolve(mainScript, '../../..'),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/lowerdir .*\/lower: permission denied \(it must be readable by this user\)/);
    expect(isMounted(mnt)).toBe(false);
  });

  it('a lowerdir that is not a directory', async () => {
    const { lower, mnt } = layout();
    await refused(`lowerdir=${lower}/file`, mnt, /lowerdir .*\/file: not a directory/);
  });

  it('an upperdir on a filesystem without extended attributes (ramfs)', async () => {
    const { lower, mnt, at } = layout();
    const ramfs = at('ramfs');
    execFileSync('mount', ['-t', 'ramfs', 'ramfs', ramfs]);
    try {
      fs.mkdirSync(`${ramfs}/upper`);
      fs.mkdirSync(`${ramfs}/work`);
      await refused(`lowerdir=${lower},upperdir=${ramfs}/upper,workdir=${ramfs}/work`, mnt, /upperdir .* is on a filesystem without extended attributes/, `${ramfs}/upper`);
      expect(fs.readdirSync(`${ramfs}/work`)).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', ramfs]); // lazy: a child still exiting must not leave it mounted
    }
  });

  it('a workdir on another filesystem than the upperdir', async () => {
    const { lower, upper, mnt, at } = layout();
    const tmpfs = at('tmpfs');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs]);
    try {
      await refused(`lowerdir=${lower},upperdir=${upper},workdir=${tmpfs}`, mnt, /workdir .* is on another filesystem than upperdir/, upper);
    } finally {
      execFileSync('umount', ['-l', tmpfs]);
    }
  });

  it('an upperdir without a workdir, or a workdir inside the upperdir', async () => {
    const { lower, upper, mnt } = layout();
    await refused(`lowerdir=${lower},upperdir=${upper}`, mnt, /upperdir= and workdir= go together/, upper);
    fs.mkdirSync(`${upper}/work`);
    await refused(`lowerdir=${lower},upperdir=${upper},workdir=${upper}/work`, mnt, /must be separate directories/, upper);
  });

  it('a lower layer whose whiteout hides nothing below it', async () => {
    const { lower, mnt, at } = layout();
    const top = at('top');
    execFileSync('mknod', [`${top}/ghost`, 'c', '0', '0']);
    await refused(`lowerdir=${top}:${lower}`, mnt, /lowerdir .*\/top has a whiteout for \/ghost, which no lower directory below it holds/);
    // The same whiteout over a layer that has the name is fine.
    fs.writeFileSync(`${lower}/ghost`, 'hidden\n');
    const run = await layerfsOverlay(`lowerdir=${top}:${lower}`, mnt);
    expect(run.status, run.stderr).toBe(0);
    mounted.push(mnt);
    expect(fs.readdirSync(mnt)).toEqual(['file']);
  });

  it('names what it ignores and still mounts: unknown options warn, generic ones pass', async () => {
    const { lower, mnt } = layout();
    const run = await layerfsOverlay(`lowerdir=${lower},rw,nodev,noatime,fast_ino=1`, mnt);
    expect(run.status, run.stderr).toBe(0);
    mounted.push(mnt);
    expect(run.stderr).toContain('ignoring unknown option "fast_ino=1"');
    expect(run.stderr).not.toContain('noatime');
    expect(fs.readFileSync(`${mnt}/file`, 'utf8')).toBe('kept\n');
  });
});
