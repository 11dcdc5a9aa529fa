import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { fuseUnavailable, hostTree, storeCli } from './helpers.js';

const unavailable = fuseUnavailable();
const COUNT = 1000;

describe.skipIf(unavailable !== undefined)('one daemon serving 1000 containers', () => {
  const cli = storeCli();
  const mountpoint = path.join(tempDir('layerfs-mnt-'), 'mnt');
  afterAll(async () => {
    await cli.run('umount', mountpoint);
  });

  it('mounts them all under one mount point, each private, and saves each on unmount', async () => {
    const engine = Engine.open(cli.store, { durable: false });
    engine.importDirectory(hostTree({ 'etc/hosts': '127.0.0.1 localhost\n', 'usr/bin/tool': 'tool' }), 'base');
    const names = Array.from({ length: COUNT }, (_, i) => `c${String(i).padStart(4, '0')}`);
    for (const name of names) engine.create('base', name);
    fs.mkdirSync(mountpoint);
    const mounted = await cli.run('mount', '--all', mountpoint, '--daemon');
    expect(mounted.status, mounted.stderr).toBe(0);
    expect(fs.readdirSync(mountpoint).sort()).toEqual(names);
    for (const name of [names[0]!, names[499]!, names[999]!]) {
      fs.writeFileSync(path.join(mountpoint, name, 'etc', 'hosts'), `${name}\n`);
    }
    expect(fs.readFileSync(path.join(mountpoint, names[1]!, 'etc', 'hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(fs.readFileSync(path.join(mountpoint, names[999]!, 'etc', 'hosts'), 'utf8')).toBe(`${names[999]}\n`);
    expect((await cli.run('umount', mountpoint)).status).toBe(0);
    expect((await cli.run('diff', names[499]!)).stdout).toBe('C /etc/hosts\n');
    expect((await cli.run('diff', names[500]!)).stdout).toBe('');
  }, 120_000);
});
