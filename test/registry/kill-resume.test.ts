import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/container/index.js';
import { writeOciLayout } from '../../src/image/index.js';
import { pullImage } from '../../src/registry/index.js';
import { mainScript } from '../cli/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { baseAndApp, freshEngine, treeOf } from './helpers.js';
import { FakeRegistry } from './fake-registry.js';

describe('a pull killed with SIGKILL', () => {
  let fake: FakeRegistry;
  beforeEach(async () => {
    fake = await FakeRegistry.start();
  });
  afterEach(() => fake.stop());

  it('resumes the layer it was fetching from where its download stopped, and leaves no image meanwhile', async () => {
    const source = freshEngine();
    baseAndApp(source, 21);
    const layout = path.join(tempDir(), 'layout');
    await writeOciLayout(source.store, source.image('base').layers, layout, { tags: ['1'] });
    fake.addLayout(layout, 'img');
    const manifest = JSON.parse(Buffer.from(fake.manifests.get('img:1')!.bytes).toString()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;
    // The first download trickles, so the process is killed in the middle of it.
    let slow = true;
    fake.hooks.push((req, res, url) => {
      if (!slow || req.method !== 'GET' || !url.pathname.endsWith(layer.digest)) return false;
      const bytes = fake.blobs.get(`img@${layer.digest}`)!.bytes;
      res.writeHead(200, { 'content-length': bytes.length });
      let at = 0;
      const timer = setInterval(() => {
        if (res.destroyed || at >= bytes.length) return clearInterval(timer);
        res.write(bytes.subarray(at, (at += 16 * 1024)));
      }, 20);
      res.on('close', () => clearInterval(timer));
      return true;
    });
    const store = path.join(tempDir(), 'store');
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, '--store', store, 'pull', `${fake.host}/img:1`, '--tag', 'got'], { stdio: 'ignore' });
    const partial = path.join(store, 'registry', 'downloads', layer.digest.replace(':', '-'));
    const deadline = Date.now() + 20_000;
    while (!(fs.existsSync(partial) && fs.statSync(partial).size > 100_000)) {
      if (Date.now() > deadline) throw new Error('the pull never started its download');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const had = fs.statSync(partial).size;
    expect(had).toBeLessThan(layer.size);

    slow = false;
    const engine = Engine.open(store, { durable: false });
    expect(engine.images()).toEqual([]);
    await pullImage(engine, `${fake.host}/img:1`, { tag: 'got' });
    expect(treeOf(engine, 'got')).toEqual(treeOf(source, 'base'));
    const ranges = fake.requests.filter((request) => request.url.endsWith(layer.digest) && request.range).map((request) => request.range);
    expect(ranges).toEqual([`bytes=${had}-`]);
    expect(fs.existsSync(partial)).toBe(false);
    expect(engine.verify().ok).toBe(true);
  });
});
