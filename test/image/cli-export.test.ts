import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importImage, importLayer } from '../../src/image/index.js';
import { Engine, MemoryBlobStore, WHITEOUT } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { hostTree as sourceTree, mainScript, storeCli } from '../cli/helpers.js';
import { viewTree } from './oci-helpers.js';

/** A store with image `base` and container `web` that changed, deleted and replaced things. */
async function prepared() {
  const cli = storeCli();
  const source = sourceTree({ 'etc/hosts': '127.0.0.1 localhost\n', 'etc/shadow': 'secret', 'var/cache/a': 'a', 'usr/bin/tool': '#!/bin/sh\n' });
  expect((await cli.run('import', source, '--tag', 'base')).status).toBe(0);
  expect((await cli.run('create', 'base', '--name', 'web')).status).toBe(0);
  const engine = Engine.open(cli.store);
  const web = engine.openContainer('web');
  web.write(web.createFile('/etc/motd'), 0, Buffer.from('welcome\n'));
  web.unlink('/etc/shadow');
  web.unlink('/var/cache/a');
  web.rmdir('/var/cache');
  web.mkdir('/var/cache');
  engine.saveContainer('web', web);
  return { ...cli, engine, web };
}

describe('layerfs export', () => {
  it('writes a container\'s changes as a gzip OCI layer with whiteouts', async () => {
    const { run } = await prepared();
    const out = path.join(tempDir(), 'web.tar.gz');
    const result = await run('export', 'web', '--format', 'layer', '-o', out);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^exported web: its changes as a layer, [\d.]+ (B|KiB) to .*web.tar.gz\n$/);
    const { layer } = await importLayer(new MemoryBlobStore(), fs.readFileSync(out));
    expect(layer.lookup('/etc/shadow')).toBe(WHITEOUT);
    expect(layer.inode(layer.lookup('/var/cache')!)).toMatchObject({ kind: 'dir', opaque: true });
    expect(layer.lookup('/etc/motd')).toBeGreaterThan(0);
    expect(execFileSync('tar', ['-tzf', out]).toString()).toMatch(/etc\/\.wh\.shadow\n/);
  });

  it('writes OCI and docker images that layerfs import takes back to the same tree', async () => {
    const { run, store, engine } = await prepared();
    const expected = viewTree(engine.store, engine.openContainer('web').commit().image.layers);
    const dir = tempDir();
    for (const [format, output] of [['oci', 'web.tar'], ['docker', 'web-docker.tar'], ['oci', 'layout/']] as const) {
      const at = path.join(dir, output);
      const exported = await run('export', 'web', '--format', format, '-o', at, '--tag', 'web:1');
      expect(exported.status, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(/^exported web: 2 layers as /);
      const copy = `copy-${format}-${output.endsWith('/') ? 'dir' : 'tar'}`;
      const imported = await run('import', at, '--tag', copy);
      expect(imported.status, imported.stderr).toBe(0);
      const reopened = Engine.open(store);
      expect(viewTree(reopened.store, reopened.image(copy).layers)).toEqual(expected);
    }
    expect((await importImage(new MemoryBlobStore(), path.join(dir, 'web-docker.tar'))).tags).toEqual(['web:1']);
  });

  it('writes the same bytes twice, and to standard output', async () => {
    const { store, run } = await prepared();
    const dir = tempDir();
    await run('export', 'web', '--format', 'oci', '-o', path.join(dir, 'a.tar'));
    await run('export', 'web', '--format', 'oci', '-o', path.join(dir, 'b.tar'));
    const piped = execFileSync(process.execPath, ['--import', 'tsx', mainScript, '--store', store, 'export', 'web', '--format', 'oci', '-o', '-'], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
    const a = fs.readFileSync(path.join(dir, 'a.tar'));
    expect(Buffer.compare(a, fs.readFileSync(path.join(dir, 'b.tar')))).toBe(0);
    expect(Buffer.compare(a, piped)).toBe(0);
  });

  it('exports an image with --image, and refuses bad arguments clearly', async () => {
    const { run } = await prepared();
    const dir = tempDir();
    expect((await run('export', 'base', '--image', '--format', 'docker', '-o', path.join(dir, 'base.tar'))).stdout).toMatch(/exported base: 1 layer as a docker save archive/);
    const badFormat = await run('export', 'web', '--format', 'zip', '-o', path.join(dir, 'x'));
    expect(badFormat.status).toBe(2);
    expect(badFormat.stderr).toMatch(/--format must be one of oci, docker, layer, not "zip"/);
    const missing = await run('export', 'nope', '--format', 'oci', '-o', path.join(dir, 'x'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no container named "nope"/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['base.tar']);
  });
});
