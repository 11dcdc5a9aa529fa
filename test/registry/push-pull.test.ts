import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../src/index.js';
import { hostPlatform, importImage } from '../../src/image/index.js';
import { RegistryClient, pullImage, pushImage } from '../../src/registry/index.js';
import { tempDir } from '../helpers/tmp.js';
import { commandExists, viewTree } from '../image/oci-helpers.js';
import { baseAndApp, countRequests, freshEngine, treeOf } from './helpers.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';

describe.skipIf(registryMissing)(`push and pull against docker-registry (${INSTALL_HINT})`, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it('an image pushed then pulled into a fresh store has the same tree', async () => {
    const source = freshEngine();
    baseAndApp(source);
    const pushed = await pushImage(source.store, source.dir, source.image('app').layers, `${registry.host}/round/app:1`);
    expect(pushed.uploaded).toBe(2);
    const target = freshEngine();
    const pulled = await pullImage(target, `${registry.host}/round/app:1`, { tag: 'app' });
    expect(pulled.record.layers).toHaveLength(2);
    expect(treeOf(target, 'app')).toEqual(treeOf(source, 'app'));
    expect(target.verify().ok).toBe(true);
  });

  it('a second push of an image sharing its base uploads only the new layer; another repository mounts it', async () => {
    const engine = freshEngine();
    baseAndApp(engine, 7);
    const base = await pushImage(engine.store, engine.dir, engine.image('base').layers, `${registry.host}/share/base:1`);
    expect(base.uploaded).toBe(1);
    const before = countRequests(await registry.settledLog(), 'PUT', /\/v2\/share\/app\/blobs\/uploads\//);
    const app = await pushImage(engine.store, engine.dir, engine.image('app').layers, `${registry.host}/share/app:1`);
    // The base layer is in share/base: mounted into share/app, not uploaded again.
    expect({ uploaded: app.uploaded, mounted: app.mounted }).toEqual({ uploaded: 1, mounted: 1 });
    const again = await pushImage(engine.store, engine.dir, engine.image('app').layers, `${registry.host}/share/app:2`);
    expect({ uploaded: again.uploaded, exists: again.exists }).toEqual({ uploaded: 0, exists: 2 });
    // The registry saw exactly two finished blob uploads for share/app: the new layer and the config.
    expect(countRequests(await registry.settledLog(), 'PUT', /\/v2\/share\/app\/blobs\/uploads\//) - before).toBe(2);
  });

  it('a pull of an image whose layers are here already fetches only what is new', async () => {
    const source = freshEngine();
    baseAndApp(source, 11);
    await pushImage(source.store, source.dir, source.image('base').layers, `${registry.host}/reuse/base:1`);
    await pushImage(source.store, source.dir, source.image('app').layers, `${registry.host}/reuse/app:1`);
    const target = freshEngine();
    const first = await pullImage(target, `${registry.host}/reuse/base:1`, { tag: 'base' });
    expect(first.cached).toBe(0);
    const second = await pullImage(target, `${registry.host}/reuse/app:1`, { tag: 'app' });
    expect(second.cached).toBe(first.fetched);
    expect(treeOf(target, 'app')).toEqual(treeOf(source, 'app'));
  });

  it('small chunks: a layer goes up in many PATCH requests and comes back intact', async () => {
    const engine = freshEngine();
    baseAndApp(engine, 3);
    const before = countRequests(await registry.settledLog(), 'PATCH', /\/v2\/chunks\/base\/blobs\/uploads\//);
    await pushImage(engine.store, engine.dir, engine.image('base').layers, `${registry.host}/chunks/base:1`, { chunkSize: 64 * 1024 });
    expect(countRequests(await registry.settledLog(), 'PATCH', /\/v2\/chunks\/base\/blobs\/uploads\//) - before).toBeGreaterThan(5);
    const target = freshEngine();
    await pullImage(target, `${registry.host}/chunks/base:1`, { tag: 'base' });
    expect(treeOf(target, 'base')).toEqual(treeOf(engine, 'base'));
  });

  it('push --index: one tag serves two platforms, and a pull takes the host\'s unless told another', async () => {
    const engine = freshEngine();
    baseAndApp(engine, 13);
    const host = hostPlatform();
    const other = { os: 'linux', architecture: host.architecture === 'arm64' ? 'amd64' : 'arm64' };
    const ref = `${registry.host}/multi/img:1`;
    await pushImage(engine.store, engine.dir, engine.image('base').layers, ref, { index: true, platform: other });
    await pushImage(engine.store, engine.dir, engine.image('app').layers, ref, { index: true, platform: host });
    // Pushed again for the same platform: replaced, not added.
    await pushImage(engine.store, engine.dir, engine.image('app').layers, ref, { index: true, platform: host });
    const client = new RegistryClient(registry.host, 'http');
    const index = await client.getManifest('multi/img', '1');
    client.close();
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect((JSON.parse(Buffer.from(index.bytes).toString()) as { manifests: unknown[] }).manifests).toHaveLength(2);
    const target = freshEngine();
    await pullImage(target, ref, { tag: 'mine' });
    await pullImage(target, ref, { tag: 'theirs', platform: other });
    expect(treeOf(target, 'mine')).toEqual(treeOf(engine, 'app'));
    expect(treeOf(target, 'theirs')).toEqual(treeOf(engine, 'base'));
  });

  it('a tag that does not exist is a clear error and leaves no image', async () => {
    const target = freshEngine();
    await expect(pullImage(target, `${registry.host}/round/app:nope`, { tag: 'x' })).rejects.toThrow(/manifest nope was not found/);
    expect(target.images()).toEqual([]);
  });

  describe.skipIf(!commandExists('skopeo'))('with skopeo', () => {
    it('an image pushed by layerfs is pulled by skopeo, and its tree equals the original', async () => {
      const engine = freshEngine();
      baseAndApp(engine, 5);
      await pushImage(engine.store, engine.dir, engine.image('app').layers, `${registry.host}/tools/app:1`);
      const layout = path.join(tempDir(), 'layout');
      execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/tools/app:1`, `oci:${layout}:app`]);
      const store = new MemoryBlobStore();
      const copied = await importImage(store, layout, { ref: 'app' });
      expect(viewTree(store, copied.layers)).toEqual(treeOf(engine, 'app'));
    });

    it('a docker save tarball pushed by skopeo is pulled by layerfs', async () => {
      const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), '../../fixtures/image');
      const work = tempDir();
      const layout = path.join(work, 'layout');
      execFileSync('mkdir', [layout]);
      execFileSync('tar', ['-xf', path.join(fixtures, 'umoci-layout.tar'), '-C', layout]);
      execFileSync('skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${path.join(work, 'saved.tar')}:app:v1`]);
      execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker-archive:${path.join(work, 'saved.tar')}`, `docker://${registry.host}/tools/saved:v1`]);
      const engine = freshEngine();
      await pullImage(engine, `${registry.host}/tools/saved:v1`, { tag: 'saved' });
      const expected = (await import(path.join(fixtures, 'umoci-layout.tree.json'), { with: { type: 'json' } })).default;
      expect(treeOf(engine, 'saved')).toEqual(expected);
    });
  });
});
