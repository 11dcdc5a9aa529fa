import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getXattr, listXattrs, setXattr } from '../../src/overlay/xattr.js';
import { type Run, layerfs } from '../cli/helpers.js';
import { fuseUnavailable } from '../fuse/daemon.js';
import { kernelOverlayUnavailable } from '../overlay/kernel.js';

/** Why overlay mounts cannot be tested here, or undefined. */
export function overlayUnavailable(): string | undefined {
  return fuseUnavailable() ?? kernelOverlayUnavailable();
}

/** `layerfs overlay -o OPTIONS MOUNTPOINT`: returns once the mount is live (or failed). */
export function layerfsOverlay(options: string, mountpoint: string): Promise<Run> {
  return layerfs(['overlay', '-o', options, mountpoint]);
}

export function isMounted(mountpoint: string): boolean {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === mountpoint);
}

export function unmount(mountpoint: string): void {
  execFileSync('umount', [mountpoint]);
}

/** Serves lowers (top first) with an upper through `layerfs overlay`; fails the test if it cannot. */
export async function mountLayerfs(mountpoint: string, lowers: string[], upper?: { upper: string; work: string }): Promise<void> {
  const options = [`lowerdir=${lowers.join(':')}`, ...(upper ? [`upperdir=${upper.upper}`, `workdir=${upper.work}`] : [])].join(',');
  const run = await layerfsOverlay(options, mountpoint);
  if (run.status !== 0) throw new Error(`layerfs overlay failed (${run.status}): ${run.stderr}`);
}

export function mountKernel(mountpoint: string, lowers: string[], upper?: { upper: string; work: string }): void {
  const options = [`lowerdir=${lowers.join(':')}`, ...(upper ? [`upperdir=${upper.upper}`, `workdir=${upper.work}`, 'redirect_dir=on'] : [])].join(',');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options, mountpoint]);
}

/** A tree as every reader must agree on it: kinds, modes, sizes, contents, targets, xattrs, links. */
export function treeOf(root: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const inodes = new Map<string, string>();
  const visit = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const at = `${prefix}/${name}`;
      const stat = fs.lstatSync(full);
      const xattrs = listXattrs(full).filter((key) => key.startsWith('user.')).sort().map((key) => `${key}=${getXattr(full, key)}`);
      let what = `mode ${(stat.mode & 0o7777).toString(8)} ${xattrs.join(' ')}`;
      if (stat.isDirectory()) what = `dir ${what}`;
      else if (stat.isSymbolicLink()) what = `symlink -> ${fs.readlinkSync(full)}`;
      else if (stat.isFile()) what = `file ${what} ${stat.size} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex').slice(0, 16)}`;
      else what = `${stat.isFIFO() ? 'fifo' : stat.isCharacterDevice() ? `chardev ${stat.rdev}` : 'other'} ${what}`;
      if (!stat.isDirectory() && stat.nlink > 1) {
        // Hard links by which names share an inode, not by its number (each mount numbers its own).
        const key = `${stat.dev}:${stat.ino}`;
        const first = inodes.get(key);
        if (first) what += ` link of ${first}`;
        else inodes.set(key, at);
      }
      tree[at] = what.trim();
      if (stat.isDirectory()) visit(full, at);
    }
  };
  visit(root, '');
  return tree;
}

/**
 * Two lower layers in overlay format: `bottom` a small root, `top` deleting a file and making a
 * directory opaque as kernel overlayfs records them (a 0/0 device, an xattr), and adding files.
 * `fuseForms` adds the forms only fuse-overlayfs and containers-storage's tar layers use (a
 * `.wh.NAME` file, a `.wh..wh..opq` marker): kernel overlayfs shows them as plain files.
 */
export function writeLowers(top: string, bottom: string, fuseForms = false): void {
  const file = (at: string, data: string | Buffer, mode = 0o644) => {
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.writeFileSync(at, data, { mode });
  };
  file(`${bottom}/etc/hosts`, '127.0.0.1 localhost\n');
  fs.linkSync(`${bottom}/etc/hosts`, `${bottom}/etc/hosts.link`);
  file(`${bottom}/etc/motd`, 'welcome\n');
  file(`${bottom}/etc/gone`, 'deleted by the top layer\n');
  file(`${bottom}/etc/gone-too`, 'deleted by a .wh. file\n');
  file(`${bottom}/usr/lib/app/lib.so`, Buffer.alloc(200_000, 7), 0o755);
  file(`${bottom}/usr/lib/app/data/a.txt`, 'a\n');
  file(`${bottom}/usr/share/doc/readme`, 'readme\n');
  file(`${bottom}/opaque-x/hidden`, 'hidden by an opaque directory\n');
  file(`${bottom}/opaque-m/hidden`, 'hidden by an opaque marker\n');
  file(`${bottom}/var/big.db`, Buffer.alloc(3 << 20, 1));
  fs.symlinkSync('../etc/hosts', `${bottom}/usr/hosts-link`);
  setXattr(`${bottom}/etc/motd`, 'user.origin', Buffer.from('bottom'));

  file(`${top}/etc/motd`, 'welcome from the top layer\n');
  fs.mkdirSync(`${top}/etc`, { recursive: true });
  execFileSync('mknod', [`${top}/etc/gone`, 'c', '0', '0']);
  file(`${top}/opaque-x/shown`, 'only this\n');
  setXattr(`${top}/opaque-x`, 'trusted.overlay.opaque', Buffer.from('y'));
  file(`${top}/opaque-m/shown`, 'only this too\n');
  if (fuseForms) {
    file(`${top}/etc/.wh.gone-too`, '');
    file(`${top}/opaque-m/.wh..wh..opq`, '');
  } else {
    execFileSync('mknod', [`${top}/etc/gone-too`, 'c', '0', '0']);
    setXattr(`${top}/opaque-m`, 'trusted.overlay.opaque', Buffer.from('y'));
  }
  file(`${top}/usr/lib/app/data/b.txt`, 'b\n');
}

/**
 * The changes a container makes, done through node:fs on a mount another process serves: every
 * kind of change an upper layer must record.
 */
export function makeChanges(root: string): void {
  fs.appendFileSync(`${root}/etc/hosts`, '10.0.0.1 db\n');
  fs.writeFileSync(`${root}/etc/new.conf`, 'new\n');
  fs.unlinkSync(`${root}/etc/motd`);
  fs.rmSync(`${root}/usr/share/doc`, { recursive: true });
  fs.mkdirSync(`${root}/usr/share/doc`);
  fs.writeFileSync(`${root}/usr/share/doc/fresh`, 'a directory made over a deleted one\n');
  fs.renameSync(`${root}/usr/lib/app`, `${root}/usr/lib/app2`);
  fs.renameSync(`${root}/usr/lib/app2/data`, `${root}/opt-data`);
  fs.linkSync(`${root}/usr/lib/app2/lib.so`, `${root}/usr/lib/lib.so.link`);
  fs.chmodSync(`${root}/usr/lib/app2/lib.so`, 0o700);
  fs.truncateSync(`${root}/var/big.db`, 1 << 20);
  const fd = fs.openSync(`${root}/var/big.db`, 'r+');
  fs.writeSync(fd, Buffer.from('changed'), 0, 7, 4096);
  fs.closeSync(fd);
  fs.writeFileSync(`${root}/var/large`, Buffer.alloc(12 << 20, 0x5a));
  fs.symlinkSync('/etc/new.conf', `${root}/etc/new.link`);
  fs.rmSync(`${root}/opaque-x`, { recursive: true });
  setXattr(`${root}/etc/new.conf`, 'user.note', Buffer.from('made in the container'));
  execFileSync('mkfifo', [`${root}/var/fifo`]);
}
