import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable, layerfs } from '../cli/helpers.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { folder } from './helpers.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';

const unavailable = fuseUnavailable() ?? (registryMissing ? INSTALL_HINT : undefined);
if (unavailable) console.warn(`SKIPPED: lazy mount tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('a mount of a lazily pulled image', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  /** `img` pushed lazily to REGISTRY from `files`, pulled lazily into a new store with a container `box`. */
  async function lazyBox(files: Record<string, string | Uint8Array>, on: RunningRegistry, repository: string) {
    const from = path.join(tempDir(), 'from');
    expect((await layerfs(['--store', from, 'import', folder(files), '--tag', 'src'])).status).toBe(0);
    expect((await layerfs(['--store', from, 'push', 'src', `${on.host}/${repository}:1`, '--lazy'])).status).toBe(0);
    const store = path.join(tempDir(), 'store');
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => layerfs(['--store', store, ...args], env);
    expect((await run(['pull', '--lazy', `${on.host}/${repository}:1`, '--tag', 'img'])).status).toBe(0);
    expect((await run(['create', 'img', '--name', 'box'])).status).toBe(0);
    const mountpoint = path.join(tempDir('layerfs-mnt-'), 'mnt');
    fs.mkdirSync(mountpoint);
    return { run, mountpoint };
  }

  it('reads of several files at once all wait for their chunks and give the pushed bytes', async () => {
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`lib/f${i}.so`, seededBytes(40 * 1024 + i * 7000, 40 + i)]));
    const { run, mountpoint } = await lazyBox(files, registry, 'mnt/many');
    expect((await run(['mount', 'box', mountpoint, '--daemon'])).status).toBe(0);
    try {
      // Read from this process, asynchronously, all at once (the thread pool reads four at a time).
      const read = await Promise.all(Object.keys(files).map((file) => fs.promises.readFile(path.join(mountpoint, file))));
      read.forEach((bytes, i) => expectBytes(bytes, Object.values(files)[i] as Uint8Array));
    } finally {
      const unmounted = await run(['umount', mountpoint]);
      if (unmounted.status !== 0) execFileSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
    }
  });

  it('a registry gone: a read through the mount fails with EIO after the timeout, and the mount keeps answering', async () => {
    const own = await startRegistry();
    const { run, mountpoint } = await lazyBox({ 'data.bin': seededBytes(300 * 1024, 9), 'etc/motd': 'hi\n' }, own, 'mnt/gone');
    await own.stop();
    expect((await run(['mount', 'box', mountpoint, '--daemon'], { LAYERFS_LAZY_TIMEOUT: '2' })).status).toBe(0);
    try {
      const started = Date.now();
      await expect(fs.promises.readFile(path.join(mountpoint, 'data.bin'))).rejects.toMatchObject({ code: 'EIO' });
      expect(Date.now() - started).toBeLessThan(15_000);
      // Metadata needs no content; another read fails the same way rather than hang.
      expect((await fs.promises.stat(path.join(mountpoint, 'data.bin'))).size).toBe(300 * 1024);
      await expect(fs.promises.readFile(path.join(mountpoint, 'etc/motd'))).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      const unmounted = await run(['umount', mountpoint]);
      if (unmounted.status !== 0) execFileSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
    }
  });

  it('reads block until their chunks arrive and give the pushed bytes; df then shows them present', async () => {
    const from = path.join(tempDir(), 'from');
    const big = seededBytes(700 * 1024, 5);
    expect((await layerfs(['--store', from, 'import', folder({ 'usr/lib/big.so': big, 'etc/motd': 'hi\n' }), '--tag', 'src'])).status).toBe(0);
    expect((await layerfs(['--store', from, 'push', 'src', `${registry.host}/mnt/img:1`, '--lazy'])).status).toBe(0);
    const store = path.join(tempDir(), 'store');
    const run = (...args: string[]) => layerfs(['--store', store, ...args]);
    expect((await run('pull', '--lazy', `${registry.host}/mnt/img:1`, '--tag', 'img')).status).toBe(0);
    expect((await run('create', 'img', '--name', 'box')).status).toBe(0);
    const mountpoint = path.join(tempDir('layerfs-mnt-'), 'mnt');
    fs.mkdirSync(mountpoint);
    const mounted = await run('mount', 'box', mountpoint, '--daemon');
    expect(mounted.status).toBe(0);
    try {
      // Read from this process, asynchronously: the daemon serving the mount is another one.
      expect(Buffer.compare(await fs.promises.readFile(path.join(mountpoint, 'usr/lib/big.so')), big)).toBe(0);
      expect(await fs.promises.readFile(path.join(mountpoint, 'etc/motd'), 'utf8')).toBe('hi\n');
    } finally {
      const unmounted = await run('umount', mountpoint);
      if (unmounted.status !== 0) execFileSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
    }
    expect((await run('df')).stdout).toMatch(/img\s+700 KiB\s+700 KiB\s+100%/);
  });
});
