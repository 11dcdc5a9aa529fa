import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { layerfsOverlayProgram, overlayClient, repo } from '../../bench/lib/podman.js';
import { tempDir } from '../helpers/tmp.js';
import { isMounted, overlayUnavailable, unmount, writeLowers } from './helpers.js';

const unavailable = overlayUnavailable() ?? (fs.existsSync(overlayClient) ? undefined : 'the overlay mount client is not built (npm install builds it with a C compiler: apt-get install gcc)');
if (unavailable) console.warn(`SKIPPED: layerfs-overlay's shared server: ${unavailable}`);

const mounted: string[] = [];
const servers: number[] = [];
afterEach(() => {
  for (const mountpoint of mounted.splice(0).reverse()) if (isMounted(mountpoint)) unmount(mountpoint);
  for (const pid of servers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGTERM');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A private TMPDIR (so a server of its own), lowers, and the mount program as podman calls it. */
function setUp() {
  const root = tempDir('layerfs-ovl-shared-');
  const made = (name: string) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    return dir;
  };
  const [top, bottom, bin, tmp] = ['top', 'bottom', 'bin', 'tmp'].map(made) as [string, string, string, string];
  writeLowers(top, bottom);
  const program = layerfsOverlayProgram(bin);
  const env = { ...process.env, TMPDIR: tmp, LAYERFS_OVERLAY_LINGER: '1' };
  const union = (name: string) => ({ upper: made(`${name}-upper`), work: made(`${name}-work`), mnt: made(`${name}-mnt`) });
  const mount = (lowers: string, dirs: { upper: string; work: string; mnt: string }) => {
    const run = spawnSync(program, ['-o', `lowerdir=${lowers},upperdir=${dirs.upper},workdir=${dirs.work}`, dirs.mnt], { env, encoding: 'utf8' });
    if (run.status === 0) mounted.push(dirs.mnt);
    return run;
  };
  const log = () => fs.readFileSync(path.join(tmp, `layerfs-overlay-${process.getuid!()}.log`), 'utf8');
  const serverPids = () => [...new Set([...log().matchAll(/server \(pid (\d+)\) listening/g)].map((match) => Number(match[1])))];
  const sockets = () => fs.readdirSync(path.join(tmp, `layerfs-overlay-${process.getuid!()}`)).filter((name) => name.endsWith('.sock'));
  return { lowers: `${top}:${bottom}`, union, mount, serverPids, sockets };
}

async function waitFor(condition: () => boolean, seconds: number): Promise<boolean> {
  for (const until = Date.now() + seconds * 1000; Date.now() < until; ) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe.skipIf(unavailable !== undefined)("layerfs-overlay's shared server", () => {
  it('serves every union from one process, each live when its mount returns, and leaves once none is left', async () => {
    const { lowers, union, mount, serverPids, sockets } = setUp();
    const [a, b] = [union('a'), union('b')];
    expect(mount(lowers, a).status).toBe(0);
    expect(mount(lowers, b).status).toBe(0);
    const pids = serverPids();
    expect(pids).toHaveLength(1);
    servers.push(pids[0]!);
    expect(fs.readFileSync(`${a.mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');
    fs.writeFileSync(`${a.mnt}/etc/motd`, 'changed in a\n');
    fs.writeFileSync(`${b.mnt}/new.txt`, 'only in b\n');
    expect(fs.readFileSync(`${b.mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');
    expect(fs.existsSync(`${a.mnt}/new.txt`)).toBe(false);

    // One union unmounted: the other goes on being served.
    unmount(a.mnt);
    expect(fs.readFileSync(`${a.upper}/etc/motd`, 'utf8')).toBe('changed in a\n');
    expect(fs.readFileSync(`${b.mnt}/new.txt`, 'utf8')).toBe('only in b\n');
    unmount(b.mnt);
    expect(fs.readFileSync(`${b.upper}/new.txt`, 'utf8')).toBe('only in b\n');

    // LAYERFS_OVERLAY_LINGER=1: the server leaves a second after its last mount, socket and all.
    expect(await waitFor(() => !alive(pids[0]!), 10)).toBe(true);
    expect(sockets()).toEqual([]);
    // And the next mount starts a new one.
    const c = union('c');
    expect(mount(lowers, c).status).toBe(0);
    expect(fs.readFileSync(`${c.mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');
    servers.push(...serverPids());
    expect(serverPids()).toHaveLength(2);
  });

  it('answers a refusal with the reason and mounts nothing, and outlives a server killed outright', () => {
    const { lowers, union, mount, serverPids } = setUp();
    const a = union('a');
    expect(mount(lowers, a).status).toBe(0);
    const [first] = serverPids();
    servers.push(first!);

    const bad = union('bad');
    const refused = mount(`${path.dirname(bad.mnt)}/missing`, bad);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/lowerdir .*missing: no such directory/);
    expect(isMounted(bad.mnt)).toBe(false);
    expect(fs.readdirSync(bad.upper)).toEqual([]);
    expect(fs.readFileSync(`${a.mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');

    // A crash takes its mounts down; the stale socket does not stop the next mount.
    process.kill(first!, 'SIGKILL');
    execFileSync('umount', ['-l', a.mnt]);
    const b = union('b');
    const run = mount(lowers, b);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    servers.push(...serverPids());
    expect(fs.readFileSync(`${b.mnt}/etc/motd`, 'utf8')).toBe('welcome from the top layer\n');
  });
});

describe.skipIf(!fs.existsSync(overlayClient))('layerfs-overlay --mount-program', () => {
  it('names the mount client itself, for storage.conf (no shell started per mount)', () => {
    const printed = execFileSync(path.join(repo, 'bin/layerfs-overlay'), ['--mount-program'], { encoding: 'utf8' }).trim();
    expect(printed).toBe(fs.realpathSync(overlayClient));
    expect(() => fs.accessSync(printed, fs.constants.X_OK)).not.toThrow();
  });
});
