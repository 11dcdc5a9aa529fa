import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable, layerfs } from '../cli/helpers.js';
import { seededBytes } from '../helpers/bytes.js';
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
