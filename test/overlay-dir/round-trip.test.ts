import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { layerfsOverlayProgram } from '../../bench/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { isMounted, makeChanges, mountKernel, mountLayerfs, overlayUnavailable, treeOf, unmount, writeLowers } from './helpers.js';

const unavailable = overlayUnavailable();
if (unavailable) console.warn(`SKIPPED: layerfs overlay against kernel overlayfs: ${unavailable}`);

const mounted: string[] = [];
afterEach(() => {
  for (const mountpoint of mounted.splice(0).reverse()) if (isMounted(mountpoint)) unmount(mountpoint);
});

function dirs(root: string, ...names: string[]): string[] {
  return names.map((name) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    return dir;
  });
}

describe.skipIf(unavailable !== undefined)('layerfs overlay and kernel overlayfs read each other’s layers', () => {
  it('a union changed through layerfs shows the same tree to kernel overlayfs, its upper as a lower', async () => {
    const root = tempDir('layerfs-ovl-');
    const [top, bottom, upper, work, mnt, kmnt] = dirs(root, 'top', 'bottom', 'upper', 'work', 'mnt', 'kmnt');
    writeLowers(top!, bottom!);
    await mountLayerfs(mnt!, [top!, bottom!], { upper: upper!, work: work! });
    mounted.push(mnt!);
    makeChanges(mnt!);
    const seen = treeOf(mnt!);
    // The lower directory moved without EXDEV and kept its lower contents.
    expect(seen['/usr/lib/app2/lib.so']).toMatch(/^file mode 700/);
    expect(seen['/opt-data/b.txt']).toBeDefined();
    expect(seen['/usr/lib/app']).toBeUndefined();
    unmount(mnt!);

    mountKernel(kmnt!, [upper!, top!, bottom!]);
    mounted.push(kmnt!);
    expect(treeOf(kmnt!)).toEqual(seen);
    unmount(kmnt!);

    // And layerfs, mounted again over the same upper directory, agrees.
    await mountLayerfs(mnt!, [top!, bottom!], { upper: upper!, work: work! });
    expect(treeOf(mnt!)).toEqual(seen);
  });

  it('a union changed through kernel overlayfs (redirect_dir=on) shows the same tree to layerfs, as a lower and as an upper', async () => {
    const root = tempDir('layerfs-ovl-');
    const [top, bottom, upper, work, mnt, kmnt] = dirs(root, 'top', 'bottom', 'upper', 'work', 'mnt', 'kmnt');
    writeLowers(top!, bottom!);
    mountKernel(kmnt!, [top!, bottom!], { upper: upper!, work: work! });
    mounted.push(kmnt!);
    makeChanges(kmnt!);
    const seen = treeOf(kmnt!);
    unmount(kmnt!);

    await mountLayerfs(mnt!, [upper!, top!, bottom!]);
    mounted.push(mnt!);
    expect(treeOf(mnt!)).toEqual(seen);
    unmount(mnt!);

    // The kernel's upper directory taken over as layerfs's own upper: same tree, and writable.
    fs.rmSync(work!, { recursive: true });
    fs.mkdirSync(work!);
    await mountLayerfs(mnt!, [top!, bottom!], { upper: upper!, work: work! });
    expect(treeOf(mnt!)).toEqual(seen);
    fs.writeFileSync(`${mnt}/opt-data/c.txt`, 'c\n');
    fs.renameSync(`${mnt}/usr/lib/app2`, `${mnt}/usr/app3`);
    const after = treeOf(mnt!);
    unmount(mnt!);
    mountKernel(kmnt!, [upper!, top!, bottom!]);
    expect(treeOf(kmnt!)).toEqual(after);
  });

  it('mounts through mount(8) and mount.fuse3 (PROGRAM SOURCE MOUNTPOINT -o OPTIONS) and exits when unmounted', () => {
    const root = tempDir('layerfs-ovl-');
    const [top, bottom, upper, work, mnt, bin] = dirs(root, 'top', 'bottom', 'upper', 'work', 'mnt', 'bin');
    writeLowers(top!, bottom!);
    const program = layerfsOverlayProgram(bin!);
    // `-t fuse.layerfs-overlay` finds the program on mount's PATH; `PROGRAM#SOURCE` names it.
    execFileSync('mount', ['-t', 'fuse', `${program}#overlay`, mnt!, '-o', `lowerdir=${top}:${bottom},upperdir=${upper},workdir=${work},dev,suid,noatime`]);
    mounted.push(mnt!);
    expect(fs.readFileSync(`${mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');
    fs.writeFileSync(`${mnt}/etc/motd`, 'changed\n');
    unmount(mnt!);
    expect(fs.readFileSync(`${upper}/etc/motd`, 'utf8')).toBe('changed\n');
  });
});
