import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { overlayUnavailable } from './helpers.js';
import { Podman, layerfsOverlayProgram, podmanUnavailable } from '../../bench/lib/podman.js';
import { buildRootfs, dockerSaveTarball, fixtureUnavailable } from '../../bench/lib/podman-rootfs.js';

const unavailable = podmanUnavailable() ?? overlayUnavailable() ?? fixtureUnavailable();
const fuseOverlayfs = fs.existsSync('/usr/bin/fuse-overlayfs') ? '/usr/bin/fuse-overlayfs' : undefined;
if (unavailable) console.warn(`SKIPPED: podman with layerfs as mount_program: ${unavailable}`);
if (!unavailable && !fuseOverlayfs) console.warn('SKIPPED: the same podman script on fuse-overlayfs: it is not installed (apt-get install fuse-overlayfs)');

/** What the three `podman run`s print, by step. */
interface Results {
  install: string;
  change: string;
  committed: string;
}

const IMAGE = 'localhost/fixture:latest';

/** The script: install a .deb, commit; rename a lower directory, hard link, large file, commit; run the result. */
function runScript(podman: Podman, tarball: string): Results {
  podman.run('load', '--input', tarball);
  const install = podman.run('run', '--name', 'install', IMAGE, 'sh', '-c', [
    'dpkg -i /root/hello.deb > /dev/null',
    'dpkg-query -W hello-layerfs',
    'cat /usr/share/hello-layerfs/hello.txt',
  ].join(' && '));
  podman.run('commit', 'install', 'localhost/installed');
  const change = podman.run('run', '--name', 'change', 'localhost/installed', 'sh', '-c', [
    // A raw rename(2): mv would copy on EXDEV and hide it.
    'rename /usr/share/base /usr/share/moved',
    'echo "share: $(ls /usr/share | sort)"',
    'ln /usr/share/hello-layerfs/hello.txt /root/hello-link && echo "links: $(stat -c %h /root/hello-link)"',
    'dd if=/dev/zero of=/root/big bs=1M count=48 2>/dev/null && echo tail >> /root/big && sync',
    'echo "big: $(stat -c %s /root/big) $(sha256sum < /root/big)"',
    'true',
  ].join('; '));
  podman.run('commit', 'change', 'localhost/changed');
  const committed = podman.run('run', '--rm', 'localhost/changed', 'sh', '-c', [
    'dpkg-query -W hello-layerfs',
    'echo "share: $(ls /usr/share | sort)"',
    'cat /usr/share/*/README',
    'echo "links: $(stat -c %h /root/hello-link) same inode: $([ $(stat -c %i /root/hello-link) = $(stat -c %i /usr/share/hello-layerfs/hello.txt) ] && echo yes)"',
    'echo "big: $(stat -c %s /root/big) $(sha256sum < /root/big)"',
  ].join('; '));
  return { install, change, committed };
}

describe.skipIf(unavailable !== undefined)('podman with layerfs as its overlay mount_program', () => {
  let tarball: string;
  let dir: string;
  beforeAll(async () => {
    // Not tempDir(): that one is removed after each test, and both tests load this image.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-podman-fixture-'));
    const root = path.join(dir, 'rootfs');
    buildRootfs(root, dir);
    tarball = path.join(dir, 'fixture.tar');
    await dockerSaveTarball(root, tarball, IMAGE);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (program: (dir: string) => string): Results => {
    const root = tempDir('layerfs-podman-');
    const podman = new Podman(root, program(root));
    try {
      return runScript(podman, tarball);
    } finally {
      podman.close();
    }
  };
  let layerfs: Results | undefined;

  it('installs a .deb, renames a lower directory, hard links, writes a large file, commits and runs the result', () => {
    layerfs = run(layerfsOverlayProgram);
    expect(layerfs.install).toBe('hello-layerfs\t1.0\nhello from a .deb\n');
    const big = `big: ${48 * 1024 * 1024 + 5} `;
    expect(layerfs.change).toContain('rename: ok\nshare: hello-layerfs\nmoved\n');
    expect(layerfs.change).toContain('links: 2\n');
    expect(layerfs.change).toContain(big);
    // podman's naive diff (used with any mount_program) carries a new name of an unchanged file as
    // a copy: fuse-overlayfs gives the same (next test).
    expect(layerfs.committed).toContain('hello-layerfs\t1.0\nshare: hello-layerfs\nmoved\na directory of the base layer\nlinks: 1 same inode: \n');
    expect(layerfs.committed).toContain(big);
    // The committed image holds the same big file.
    expect(layerfs.committed.match(/big: .*/)![0]).toBe(layerfs.change.match(/big: .*/)![0]);
  }, 600_000);

  it.skipIf(!fuseOverlayfs)('gives the results fuse-overlayfs gives, but for the rename it refuses with EXDEV', () => {
    expect(layerfs, 'the layerfs run above').toBeDefined();
    const reference = run(() => fuseOverlayfs!);
    expect(reference.install).toBe(layerfs!.install);
    expect(reference.change).toContain('rename: Invalid cross-device link\nshare: base\nhello-layerfs\n');
    const withoutRename = (text: string) => text.replace(/rename: .*\n/, '').replace(/share: [^]*?\n(?=links)/, '').replace(/cat: .*\n/, '');
    expect(withoutRename(reference.change)).toBe(withoutRename(layerfs!.change));
    expect(reference.committed.replace('base\nhello-layerfs', 'hello-layerfs\nmoved')).toBe(layerfs!.committed);
  }, 600_000);
});
