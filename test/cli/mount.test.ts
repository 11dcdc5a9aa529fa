import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyUnmount } from '../../src/fuse/index.js';
import { tempDir } from '../helpers/tmp.js';
import { fuseUnavailable, hostTree, layerfs, mainScript, storeCli } from './helpers.js';

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`SKIPPED: layerfs mount tests: ${unavailable}`);

const daemons: number[] = [];
const mountpoints: string[] = [];

afterEach(async () => {
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: the test unmounted it.
    }
  }
  for (const mountpoint of mountpoints.splice(0)) {
    await lazyUnmount(mountpoint).catch(() => {
      // Not mounted.
    });
  }
});

/** A store with image `base` and container `web`, and an empty mount point. */
async function setup(...containers: string[]) {
  const cli = storeCli();
  await cli.run('import', hostTree({ 'etc/hosts': '127.0.0.1 localhost\n', 'usr/bin/tool': 'tool' }), '--tag', 'base');
  for (const name of containers.length > 0 ? containers : ['web']) await cli.run('create', 'base', '--name', name);
  const mountpoint = path.join(tempDir('layerfs-mnt-'), 'mnt');
  fs.mkdirSync(mountpoint);
  mountpoints.push(mountpoint);
  return { ...cli, mountpoint };
}

/** `mount ... --daemon`; returns the daemon's pid. */
async function mountDaemon(run: (...args: string[]) => Promise<{ status: number | null; stdout: string; stderr: string }>, ...args: string[]): Promise<number> {
  const result = await run('mount', ...args, '--daemon');
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const pid = Number(/daemon pid (\d+)/.exec(result.stdout)?.[1]);
  daemons.push(pid);
  return pid;
}

/** The line of /proc/self/mountinfo for a mount point, in the parts a test looks at. */
function mountInfo(mountpoint: string) {
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((entry) => entry.split(' ')[4] === mountpoint);
  if (!line) throw new Error(`${mountpoint} is not mounted`);
  const [before, after] = line.split(' - ') as [string, string];
  const options = before.split(' ')[5]!.split(',');
  const [type, source, superOptions] = after.split(' ') as [string, string, string];
  return { type, source, nosuid: options.includes('nosuid'), nodev: options.includes('nodev'), allowOther: superOptions.split(',').includes('allow_other') };
}

/**
 * Resolves once a process is gone: reaped, or a zombie whose other threads have exited too (the
 * leader of a threaded process turns zombie first; FUSE's connection ends with the last thread).
 */
function exited(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      try {
        const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
        if (state === 'Z' && fs.readdirSync(`/proc/${pid}/task`).length <= 1) return resolve();
        setTimeout(check, 20);
      } catch {
        resolve();
      }
    };
    check();
  });
}

describe.skipIf(unavailable !== undefined)('layerfs mount', () => {
  it('--daemon returns once the mount is live; a second mount is refused; umount saves', async () => {
    const { run, mountpoint } = await setup();
    const pid = await mountDaemon(run, 'web', mountpoint);
    expect(fs.readdirSync(mountpoint).sort()).toEqual(['etc', 'usr']);
    fs.writeFileSync(path.join(mountpoint, 'etc/motd'), 'hello from the mount\n');

    const ps = JSON.parse((await run('ps', '--json')).stdout);
    expect(ps[0].lockedBy).toMatchObject({ pid, what: 'mounted', mountpoint });
    const other = path.join(path.dirname(mountpoint), 'other');
    fs.mkdirSync(other);
    const second = await run('mount', 'web', other);
    expect(second.status).toBe(1);
    expect(second.stderr).toBe(`layerfs: container web is mounted at ${mountpoint} by pid ${pid}; unmount it first (layerfs umount ${mountpoint})\n`);
    const busy = await Promise.all([run('gc'), run('rm', 'web')]);
    expect(busy.map((result) => result.status)).toEqual([1, 1]);
    expect(busy[0]!.stderr).toMatch(/cannot collect garbage while the store is in use by pid \d+ \(mounted at /);

    const umount = await run('umount', mountpoint);
    expect(umount).toMatchObject({ status: 0, stdout: `unmounted ${mountpoint}\n` });
    await exited(pid);
    expect(fs.readdirSync(mountpoint)).toEqual([]);
    expect((await run('diff', 'web')).stdout).toBe('C /etc\nA /etc/motd\n');

    await mountDaemon(run, 'web', mountpoint);
    expect(fs.readFileSync(path.join(mountpoint, 'etc/motd'), 'utf8')).toBe('hello from the mount\n');
    expect((await run('umount', mountpoint)).status).toBe(0);
  });

  it('data that was fsynced, or saved by the timer, survives SIGKILL of the daemon; umount cleans up', async () => {
    const { run, mountpoint } = await setup();
    const pid = await mountDaemon(run, 'web', mountpoint, '--save-interval', '0.2');
    const fd = fs.openSync(path.join(mountpoint, 'synced'), 'w');
    fs.writeSync(fd, 'fsynced bytes');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(mountpoint, 'timed'), 'saved by the timer');
    // Still open when the daemon dies (with passthrough, written by the kernel directly): what was
    // fsynced survives, what came after it may not.
    const held = fs.openSync(path.join(mountpoint, 'held'), 'w');
    fs.writeSync(held, 'fsynced part');
    fs.fsyncSync(held);
    fs.writeSync(held, ', then more');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(pid, 'SIGKILL');
    await exited(pid);
    fs.closeSync(held);
    // ENOTCONN; ECONNABORTED for a request that was in flight as the connection went down.
    expect(() => fs.readdirSync(mountpoint)).toThrow(/ENOTCONN|ECONNABORTED/);

    const cleaned = await run('umount', mountpoint);
    expect(cleaned.status).toBe(0);
    expect(cleaned.stdout).toMatch(/^cleaned .*: its daemon had been killed/);
    expect((await run('diff', 'web')).stdout).toBe('A /held\nA /synced\nA /timed\n');
    expect((await run('verify')).status).toBe(0);
    // The dead daemon's locks are stale: mounting again takes them over.
    await mountDaemon(run, 'web', mountpoint);
    expect(fs.readFileSync(path.join(mountpoint, 'synced'), 'utf8')).toBe('fsynced bytes');
    expect(fs.readFileSync(path.join(mountpoint, 'timed'), 'utf8')).toBe('saved by the timer');
    expect(fs.readFileSync(path.join(mountpoint, 'held'), 'utf8')).toMatch(/^fsynced part(, then more)?$/);
    expect((await run('umount', mountpoint)).status).toBe(0);
  });

  it('a foreground mount unmounts cleanly and saves on SIGTERM', async () => {
    const { store, run, mountpoint } = await setup();
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, '--store', store, 'mount', 'web', mountpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const code = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()).includes('mounted') && resolve());
      child.on('exit', () => reject(new Error(`mount exited early: ${stderr}`)));
    });
    expect(stdout).toBe(`mounted web at ${mountpoint}; Ctrl-C or \`layerfs umount ${mountpoint}\` unmounts\n`);
    fs.writeFileSync(path.join(mountpoint, 'unsynced'), 'saved on the way out');
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    // Nothing but the line saying whether passthrough is on (where the kernel has it).
    expect(stderr).toMatch(/^(\S+ layerfs: FUSE passthrough \S+: [^\n]*\n)?$/);
    expect(fs.readdirSync(mountpoint)).toEqual([]);
    expect((await run('diff', 'web')).stdout).toBe('A /unsynced\n');
    expect(JSON.parse((await run('ps', '--json')).stdout)[0].lockedBy).toBeUndefined();
  });

  it('stopped while a program still writes, it detaches the mount and serves that program to the end', async () => {
    const { store, run, mountpoint } = await setup();
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, '--store', store, 'mount', 'web', mountpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(child.pid!);
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const code = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
    await new Promise<void>((resolve) => child.stdout.on('data', (data: Buffer) => data.toString().includes('mounted') && resolve()));
    // A writer that keeps its file open until told to finish.
    const go = path.join(path.dirname(mountpoint), 'go');
    const writer = spawn('python3', ['-c', `
import os, time, sys
f = open(sys.argv[1], 'w'); f.write('first half, '); f.flush()
print('open', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.02)
f.write('second half'); f.close()
`, path.join(mountpoint, 'long-write'), go], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => writer.stdout.on('data', (data: Buffer) => data.toString().includes('open') && resolve()));
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => child.stderr.on('data', () => stderr.includes('serving until the last program leaves') && resolve()));
    fs.writeFileSync(go, '');
    expect(await new Promise((resolve) => writer.on('exit', resolve))).toBe(0);
    expect(await code).toBe(0);
    expect((await run('diff', 'web')).stdout).toBe('A /long-write\n');
    await mountDaemon(run, 'web', mountpoint);
    expect(fs.readFileSync(path.join(mountpoint, 'long-write'), 'utf8')).toBe('first half, second half');
    expect((await run('umount', mountpoint)).status).toBe(0);
  });

  it('keeps answering while another process holds the store lock, and saves once it is free', async () => {
    const { store, run, mountpoint } = await setup();
    const pid = await mountDaemon(run, 'web', mountpoint, '--save-interval', '0.2');
    // Another process holds the store lock (as a long commit would) until its stdin closes.
    const lockFile = path.join(store, 'locks', 'store.lock');
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
      import('${path.resolve('src/container/lock-file.ts')}').then(({ LockFile }) => {
        const lock = LockFile.tryAcquire(${JSON.stringify(lockFile)}, { what: 'holding the store for a test' });
        console.log('held');
        process.stdin.on('end', () => { lock.release(); process.exit(0); });
        process.stdin.resume();
      });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (data: Buffer) => data.toString().includes('held') && resolve()));
    fs.writeFileSync(path.join(mountpoint, 'while-locked'), 'written while the store was locked');
    // Several timed saves come and go; the mount must keep answering (it used to wait 30 s).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const answered = await Promise.race([fs.promises.readdir(mountpoint).then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('frozen'), 10_000))]);
    expect(answered).toBe('answered');
    expect((await run('diff', 'web')).stdout).toBe('');
    holder.stdin!.end();
    await new Promise((resolve) => holder.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await run('diff', 'web')).stdout).toBe('A /while-locked\n');
    expect((await run('umount', mountpoint)).status).toBe(0);
    await exited(pid);
  });

  it.skipIf(process.getuid?.() !== 0)('as root it lets other users in, honours setuid and devices, and names its container as the source; --nosuid --nodev opt out', async () => {
    const { run, mountpoint } = await setup();
    fs.chmodSync(path.dirname(mountpoint), 0o755); // nobody must reach the mount point
    await mountDaemon(run, 'web', mountpoint);
    expect(mountInfo(mountpoint)).toMatchObject({ source: 'layerfs:web', type: 'fuse.layerfs', nosuid: false, nodev: false, allowOther: true });
    fs.chmodSync(mountpoint, 0o755); // the imported folder was a private temporary one
    // A setuid copy of id(1), run by nobody, runs as root.
    const id = path.join(mountpoint, 'usr/bin/id');
    fs.copyFileSync(execFileSync('sh', ['-c', 'command -v id'], { encoding: 'utf8' }).trim(), id);
    fs.chmodSync(id, 0o4755);
    const asNobody = (...command: string[]) => execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...command], { encoding: 'utf8' });
    expect(asNobody('cat', path.join(mountpoint, 'etc/hosts'))).toBe('127.0.0.1 localhost\n');
    expect(asNobody(id, '-u').trim()).toBe('0');
    // As on Linux: a write by root keeps setuid and setgid, one by another user drops them, a chown drops them.
    const shared = path.join(mountpoint, 'shared');
    fs.writeFileSync(shared, 'x');
    fs.chmodSync(shared, 0o6777);
    fs.appendFileSync(shared, 'by root\n');
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o6777);
    asNobody('sh', '-c', `echo by nobody >> ${shared}`);
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o777);
    expect(fs.readFileSync(shared, 'utf8')).toBe('xby root\nby nobody\n');
    // Without group execute, setgid goes only for a writer outside the file's group (root's group here).
    fs.chmodSync(shared, 0o2767);
    asNobody('sh', '-c', `echo again >> ${shared}`);
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o767);
    fs.chmodSync(shared, 0o6755);
    fs.chownSync(shared, 1, 1);
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o755);
    expect((await run('umount', mountpoint)).status).toBe(0);

    await mountDaemon(run, 'web', mountpoint, '--nosuid', '--nodev');
    expect(mountInfo(mountpoint)).toMatchObject({ nosuid: true, nodev: true });
    expect(asNobody(id, '-u').trim()).toBe('65534');
    expect((await run('umount', mountpoint)).status).toBe(0);
  });

  it('unmounted from outside (umount), the daemon saves, lets go and exits', async () => {
    const { run, mountpoint } = await setup();
    const pid = await mountDaemon(run, 'web', mountpoint);
    fs.writeFileSync(path.join(mountpoint, 'before-umount'), 'kept');
    execFileSync('umount', [mountpoint]);
    await exited(pid);
    expect((await run('diff', 'web')).stdout).toBe('A /before-umount\n');
    expect(JSON.parse((await run('ps', '--json')).stdout)[0].lockedBy).toBeUndefined();
  });

  it('--all serves every container as MOUNTPOINT/<name>/ from one process', async () => {
    const { run, mountpoint } = await setup('web', 'db');
    await mountDaemon(run, '--all', mountpoint);
    expect(fs.readdirSync(mountpoint).sort()).toEqual(['db', 'web']);
    fs.writeFileSync(path.join(mountpoint, 'web', 'only-web'), 'w');
    fs.rmSync(path.join(mountpoint, 'db', 'usr'), { recursive: true });
    expect(fs.readdirSync(path.join(mountpoint, 'db'))).toEqual(['etc']);
    expect(fs.readdirSync(path.join(mountpoint, 'web')).sort()).toEqual(['etc', 'only-web', 'usr']);
    const ps = JSON.parse((await run('ps', '--json')).stdout) as { name: string; lockedBy?: { mountpoint: string } }[];
    expect(ps.map((info) => info.lockedBy?.mountpoint)).toEqual([path.join(mountpoint, 'db'), path.join(mountpoint, 'web')]);
    expect((await run('umount', mountpoint)).status).toBe(0);
    expect((await run('diff', 'web')).stdout).toBe('A /only-web\n');
    expect((await run('diff', 'db')).stdout).toBe('D /usr\n');
  });

  it('refuses a mount point that does not exist, saying how to make it', async () => {
    const { run, mountpoint } = await setup();
    const missing = path.join(mountpoint, 'nope');
    const result = await run('mount', 'web', missing);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`layerfs: mount point ${missing} does not exist; create it first (mkdir -p ${missing})\n`);
    const daemon = await run('mount', 'web', missing, '--daemon');
    expect(daemon.status).toBe(1);
    expect(daemon.stderr).toBe(`layerfs: mount point ${missing} does not exist; create it first (mkdir -p ${missing})\n`);
  });
});
