import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { fuseUnavailable, storeCli } from './helpers.js';
import { buildPackage, buildRootfs, rootfsUnavailable } from './rootfs.js';

const unavailable = fuseUnavailable() ?? rootfsUnavailable();
if (unavailable) console.warn(`SKIPPED: chroot on a mounted root filesystem: ${unavailable}`);

const mounted: string[] = [];
afterEach(() => {
  for (const mountpoint of mounted.splice(0)) spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
});

/**
 * What a user does in a container's root filesystem: a command as nobody, a setuid program as
 * nobody (and the same file through a program without the bit), `dpkg -i` as root, then the
 * installed program as nobody. Each line: the command, its exit status and what it printed.
 */
function session(root: string, deb: string): string {
  fs.copyFileSync(deb, path.join(root, 'tmp/hello.deb'));
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
  const run = (user: string | undefined, ...command: string[]) => {
    const args = [...(user ? [`--userspec=${user}`] : []), root, ...command];
    const result = spawnSync('chroot', args, { encoding: 'utf8', env });
    const said = `${result.stdout}${result.stderr}`.replaceAll(root, 'ROOT').trim();
    return `${user ?? 'root'}$ ${command.join(' ')} -> ${result.status}\n${said}`;
  };
  return [
    run('65534:65534', '/bin/id'),
    run('65534:65534', '/bin/ls', '/etc'),
    run('65534:65534', '/bin/cat', '/etc/shadow'),
    run('65534:65534', '/usr/local/bin/rootcat', '/etc/shadow'),
    run(undefined, 'dpkg', '-i', '/tmp/hello.deb'),
    run(undefined, 'dpkg-query', '-W', '-f', '${Package} ${Version} ${Status}\n', 'hello'),
    run(undefined, 'cat', '/var/lib/hello/mark'),
    run('65534:65534', '/usr/bin/hello'),
  ].join('\n');
}

describe.skipIf(unavailable !== undefined)('a Debian-like root filesystem on a layerfs mount', () => {
  it('runs commands and setuid programs as another user, and dpkg -i, as on kernel overlayfs', async () => {
    const work = tempDir('layerfs-chroot-');
    fs.chmodSync(work, 0o755);
    const rootfs = path.join(work, 'rootfs');
    buildRootfs(rootfs);
    const deb = buildPackage(work);

    // The reference: kernel overlayfs over the same tree.
    const overlay = path.join(work, 'overlay');
    for (const dir of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(overlay, dir), { recursive: true });
    const merged = path.join(overlay, 'merged');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${overlay}/upper,workdir=${overlay}/work`, merged]);
    mounted.push(merged);
    const expected = session(merged, deb);
    execFileSync('umount', [merged]);

    const { run } = storeCli();
    expect((await run('import', rootfs, '--tag', 'debianish')).status).toBe(0);
    expect((await run('create', 'debianish', '--name', 'box')).status).toBe(0);
    const mountpoint = path.join(work, 'mnt');
    fs.mkdirSync(mountpoint);
    const mount = await run('mount', 'box', mountpoint, '--daemon');
    expect(mount.stderr).toBe('');
    mounted.push(mountpoint);
    const actual = session(mountpoint, deb);
    expect((await run('umount', mountpoint)).status).toBe(0);

    expect(actual).toBe(expected);
    // What the session shows, spelled out: nobody is let in, setuid works, dpkg installs.
    expect(actual).toContain('65534:65534$ /bin/cat /etc/shadow -> 1');
    expect(actual).toContain('65534:65534$ /usr/local/bin/rootcat /etc/shadow -> 0\nroot:*:');
    expect(actual).toContain('hello 1.0 install ok installed');
    expect(actual).toContain('hello from a package, said by uid 65534');
    // The installed package was saved with the container.
    expect((await run('diff', 'box')).stdout).toContain('A /usr/bin/hello');
  });
});
