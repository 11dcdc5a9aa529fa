import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverlayArgs } from '../../src/cli/overlay.js';
import { ErrnoError } from '../../src/errno.js';
import { IdMap } from '../../src/overlay/ids.js';
import { openOverlay } from '../../src/overlay/open.js';
import { getXattr, setXattr } from '../../src/overlay/xattr.js';
import { tempDir } from '../helpers/tmp.js';

const root = process.getuid?.() === 0;

function dirs(...names: string[]): string[] {
  const base = tempDir('layerfs-ovl-view-');
  return names.map((name) => {
    fs.mkdirSync(path.join(base, name));
    return path.join(base, name);
  });
}

describe('overlay directories as layers (in process, no mount)', () => {
  it('reads the whiteout and opaque forms of fuse-overlayfs and tar layers, and skips AUFS metadata', () => {
    const [top, bottom] = dirs('top', 'bottom');
    for (const name of ['a', 'b', 'c/x', 'd/x', 'e/x']) {
      fs.mkdirSync(path.dirname(`${bottom}/${name}`), { recursive: true });
      fs.writeFileSync(`${bottom}/${name}`, name);
    }
    fs.writeFileSync(`${top}/.wh.a`, '');
    fs.mkdirSync(`${top}/c`);
    fs.writeFileSync(`${top}/c/.wh..wh..opq`, '');
    fs.mkdirSync(`${top}/d`);
    setXattr(`${top}/d`, 'user.overlay.opaque', Buffer.from('y'));
    fs.mkdirSync(`${top}/e`);
    setXattr(`${top}/e`, 'user.fuseoverlayfs.opaque', Buffer.from('y'));
    fs.writeFileSync(`${top}/.wh..wh.plnk`, '');
    const view = openOverlay({ lowerdirs: [top!, bottom!] });
    const names = (dir: string) => view.readdir(view.resolve(dir)).map((entry) => entry.name);
    expect(names('/')).toEqual(['b', 'c', 'd', 'e']);
    expect(names('/c')).toEqual([]);
    expect(names('/d')).toEqual([]);
    expect(names('/e')).toEqual([]);
    view.release();
  });

  it('follows a relative redirect (a directory renamed in its own parent) to its lower contents', () => {
    const [top, bottom] = dirs('top', 'bottom');
    fs.mkdirSync(`${bottom}/etc/old`, { recursive: true });
    fs.writeFileSync(`${bottom}/etc/old/conf`, 'conf');
    fs.mkdirSync(`${top}/etc/new`, { recursive: true });
    setXattr(`${top}/etc/new`, 'user.overlay.redirect', Buffer.from('old'));
    const view = openOverlay({ lowerdirs: [top!, bottom!] });
    const ino = view.resolve('/etc/new/conf');
    expect(Buffer.from(view.readAll(ino)).toString()).toBe('conf');
    view.release();
  });

  it.skipIf(!root)('shows ids through uidmapping/gidmapping and writes host ids back (root: chown)', () => {
    const [lower, upper, work] = dirs('lower', 'upper', 'work');
    fs.writeFileSync(`${lower}/owned`, 'x');
    fs.chownSync(`${lower}/owned`, 100_000, 100_005);
    const view = openOverlay({ lowerdirs: [lower!], upperdir: upper, workdir: work, uids: IdMap.parse('0:100000:65536', 'uidmapping'), gids: IdMap.parse('0:100000:65536', 'gidmapping') });
    const ino = view.resolve('/owned');
    expect(view.stat(ino)).toMatchObject({ uid: 0, gid: 5 });
    view.chown(ino, 7, 8);
    expect(fs.statSync(`${upper}/owned`)).toMatchObject({ uid: 100_007, gid: 100_008 });
    const made = view.mkdir('/made', 0o750);
    view.chown(made, 1, 1);
    expect(fs.statSync(`${upper}/made`)).toMatchObject({ uid: 100_001, gid: 100_001 });
    view.release();
  });

  it('squash_to_root shows every file as root', () => {
    const [lower] = dirs('lower');
    fs.writeFileSync(`${lower}/file`, 'x');
    if (root) fs.chownSync(`${lower}/file`, 1234, 1234);
    const view = openOverlay({ lowerdirs: [lower!], squashToRoot: true });
    expect(view.stat(view.resolve('/file'))).toMatchObject({ uid: 0, gid: 0 });
    view.release();
  });

  it.skipIf(!root)('keeps the upper directory in overlay format as it changes: copy-up, whiteouts, opaque, redirects', () => {
    const [lower, upper, work] = dirs('lower', 'upper', 'work');
    fs.mkdirSync(`${lower}/dir/sub`, { recursive: true });
    fs.writeFileSync(`${lower}/dir/sub/file`, 'lower');
    fs.writeFileSync(`${lower}/gone`, 'x');
    const view = openOverlay({ lowerdirs: [lower!], upperdir: upper, workdir: work });
    view.write(view.resolve('/dir/sub/file'), 0, Buffer.from('UPPER'));
    expect(fs.readFileSync(`${upper}/dir/sub/file`, 'utf8')).toBe('UPPER');
    expect(fs.readFileSync(`${lower}/dir/sub/file`, 'utf8')).toBe('lower');
    view.unlink('/gone');
    expect(fs.lstatSync(`${upper}/gone`).isCharacterDevice()).toBe(true);
    // A directory made where a lower entry was deleted hides it: opaque.
    view.mkdir('/gone');
    expect(getXattr(`${upper}/gone`, 'trusted.overlay.opaque')?.toString()).toBe('y');
    // A lower directory renamed: no EXDEV; the upper copy moves and points back at its lower path.
    view.rename('/dir', '/moved');
    expect(getXattr(`${upper}/moved`, 'trusted.overlay.redirect')?.toString()).toBe('/dir');
    expect(fs.lstatSync(`${upper}/dir`).isCharacterDevice()).toBe(true);
    expect(view.readdir(view.resolve('/moved/sub')).map((entry) => entry.name)).toEqual(['file']);
    // An emptied merged directory removed: its upper copy (holding whiteouts) becomes a whiteout.
    view.unlink('/moved/sub/file');
    expect(fs.lstatSync(`${upper}/moved/sub/file`).isCharacterDevice()).toBe(true);
    view.rmdir('/moved/sub');
    expect(fs.lstatSync(`${upper}/moved/sub`).isCharacterDevice()).toBe(true);
    view.release();
  });
});

describe('when the upper directory refuses a change', () => {
  it.skipIf(!root)('a new name the disk could not take is not left in the union, and a hidden lower name stays hidden', () => {
    const [lower, upper, work] = dirs('lower', 'upper', 'work');
    fs.writeFileSync(`${lower}/old`, 'x');
    const view = openOverlay({ lowerdirs: [lower!], upperdir: upper, workdir: work });
    view.unlink('/old');
    // As UpperDir.create fails after taking a whiteout away: the disk full when the file is made.
    const disk = (view as unknown as { disk: { create: (path: string) => never } }).disk;
    disk.create = (path) => {
      fs.rmSync(`${upper}${path}`, { force: true });
      throw new ErrnoError('ENOSPC');
    };
    expect(() => view.createFile('/new')).toThrow(/ENOSPC/);
    expect(view.exists('/new')).toBe(false);
    expect(() => view.createFile('/old')).toThrow(/ENOSPC/);
    expect(view.exists('/old')).toBe(false);
    expect(fs.lstatSync(`${upper}/old`).isCharacterDevice()).toBe(true);
    view.release();
  });
});

describe('the fuse-overlayfs command line', () => {
  it('takes -o anywhere, -oOPTS, and mount.fuse3\'s SOURCE MOUNTPOINT -o OPTS order', () => {
    const parsed = parseOverlayArgs(['overlay', 'mnt', '-o', 'lowerdir=l/A:l/B,upperdir=/u,workdir=/w,dev,suid', '-odebug'], '/graph');
    expect(parsed.mountpoint).toBe('/graph/mnt');
    // containers-storage names lowers relative to its own directory, the program's cwd.
    expect(parsed.config.lowerdirs).toEqual(['/graph/l/A', '/graph/l/B']);
    expect(parsed.config.upperdir).toBe('/u');
    expect(parsed.debug).toBe(true);
    expect(parsed.warnings).toEqual([]);
    // dev and suid reach the mount; without them it is nodev,nosuid, as libfuse mounts.
    expect(parsed).toMatchObject({ dev: true, suid: true });
    expect(parseOverlayArgs(['-o', 'lowerdir=/l,suid,nosuid', '/m'])).toMatchObject({ dev: false, suid: false });
  });

  it('warns about options it does not know, and parses id mappings', () => {
    const parsed = parseOverlayArgs(['-o', 'lowerdir=/l,uidmapping=0:1000:1:1:100000:65536,squash_to_root,plugins=x', '/m']);
    expect(parsed.warnings).toEqual(['ignoring unknown option "plugins=x"']);
    expect(parsed.config.uids!.toContainer(1000)).toBe(0);
    expect(parsed.config.uids!.toContainer(100_004)).toBe(5);
    expect(parsed.config.uids!.toContainer(5)).toBe(65534);
    expect(parsed.config.squashToRoot).toBe(true);
    expect(() => parseOverlayArgs(['-o', 'lowerdir=/l,uidmapping=0:1', '/m'])).toThrow(/CONTAINER:HOST:SIZE/);
    expect(() => parseOverlayArgs(['-o', 'lowerdir=/l'])).toThrow(/missing MOUNTPOINT/);
    // fuse-overlayfs's timeout= (how long the kernel caches names and attributes), and its default.
    expect(parseOverlayArgs(['-o', 'lowerdir=/l,timeout=2.5', '/m']).cacheSeconds).toBe(2.5);
    expect(parseOverlayArgs(['-o', 'lowerdir=/l', '/m']).cacheSeconds).toBe(1_000_000_000);
    expect(() => parseOverlayArgs(['-o', 'lowerdir=/l,timeout=soon', '/m'])).toThrow(/timeout= takes seconds/);
  });
});

