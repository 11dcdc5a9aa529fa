import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/container/index.js';
import type { OciDigest } from '../../src/image/index.js';
import { type LazyIndex, RegistryClient, RegistryError, lazyTag, pullLazy, pushImage } from '../../src/registry/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { folder, freshEngine } from './helpers.js';
import { FakeRegistry } from './fake-registry.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';

const READER = fileURLToPath(new URL('./read-files.ts', import.meta.url));
const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as const;

describe.skipIf(registryMissing)(`lazy reads from a registry that misbehaves (${INSTALL_HINT})`, () => {
  let registry: RunningRegistry;
  let fake: FakeRegistry;
  let manifestDigest: OciDigest;
  beforeAll(async () => {
    registry = await startRegistry();
    const source = freshEngine();
    source.importDirectory(folder({ 'one.bin': seededBytes(256 * 1024, 1), 'two.bin': seededBytes(256 * 1024, 2) }), 'img');
    manifestDigest = (await pushImage(source.store, source.dir, source.image('img').layers, `${registry.host}/bad/img:1`, { lazy: true })).manifestDigest;
  });
  afterAll(() => registry?.stop());
  beforeEach(async () => {
    fake = await FakeRegistry.start();
    return () => fake.stop();
  });

  /** A lazily pulled `img` through the fake registry, and a container `box` of it. */
  async function lazyBox(): Promise<Engine> {
    const target = freshEngine();
    await pullLazy(target, `${fake.host}/bad/img:1`, { tag: 'img' });
    target.create('img', 'box');
    return target;
  }

  /** Reads in another process: this one serves the fake registry, and a lazy read blocks its thread. */
  function read(engine: Engine, ...paths: string[]): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', READER, engine.dir, 'box', ...paths], { env: { ...process.env, LAYERFS_LAZY_TIMEOUT: '5' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (data: Buffer) => (out += data.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(JSON.parse(out) as Record<string, string>));
    });
  }

  it('a 404 in the middle of a lazy read: EIO for that file, the files already read stay readable', async () => {
    let gone = false;
    fake.hooks.push((req, res) => {
      if (!gone || !req.headers.range) return false;
      res.writeHead(404).end();
      return true;
    });
    fake.hooks.push(FakeRegistry.proxyTo(registry.host));
    const engine = await lazyBox();
    expect(await read(engine, '/one.bin')).toEqual({ '/one.bin': sha(seededBytes(256 * 1024, 1)).slice(7) });
    gone = true;
    expect(await read(engine, '/two.bin', '/one.bin')).toEqual({ '/two.bin': 'EIO', '/one.bin': sha(seededBytes(256 * 1024, 1)).slice(7) });
    const report = engine.verify();
    expect(report.problems.every((problem) => problem.fault === 'missing')).toBe(true);
  });

  it('a range answered with other bytes: EIO, and nothing stored under the chunk\'s digest', async () => {
    fake.hooks.push((req, res) => {
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!range) return false;
      // One byte further on: plausible bytes, the wrong ones.
      req.headers.range = `bytes=${Number(range[1]) + 1}-${Number(range[2]) + 1}`;
      return FakeRegistry.proxyTo(registry.host)(req, res, new URL(req.url!, 'http://x'));
    });
    fake.hooks.push(FakeRegistry.proxyTo(registry.host));
    const engine = await lazyBox();
    const before = [...engine.store.digests()].length;
    expect(await read(engine, '/one.bin')).toEqual({ '/one.bin': 'EIO' });
    expect([...engine.store.digests()].length).toBe(before);
    expect(fake.requests.some((request) => request.range !== undefined)).toBe(true);
  });

  it('a chunk table pointing outside its layer: the pull is refused, nothing stored, no image', async () => {
    const client = new RegistryClient(registry.host, 'http');
    const artifact = JSON.parse(Buffer.from((await client.getManifest('bad/img', lazyTag(manifestDigest))).bytes).toString()) as { layers: { digest: `sha256:${string}`; size: number }[] };
    const index = JSON.parse(gunzipSync(await client.getBlob('bad/img', artifact.layers[0]!.digest, artifact.layers[0]!.size, 1 << 26)).toString()) as LazyIndex;
    client.close();
    index.layers[0]!.chunks[0]![1] = index.layers[0]!.size - 10;
    const lying = gzipSync(JSON.stringify(index));
    const manifest = Buffer.from(JSON.stringify({ ...artifact, layers: [{ ...artifact.layers[0], digest: sha(lying), size: lying.length }] }));
    fake.blobs.set(`bad/img@${sha(lying)}`, { bytes: lying });
    fake.manifests.set(`bad/img:${lazyTag(manifestDigest)}`, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    fake.hooks.push((req, res, url) => {
      // What the fake holds, it serves; the rest comes from the real registry.
      if (fake.manifests.has(`bad/img:${url.pathname.split('/').pop()}`) || fake.blobs.has(`bad/img@${url.pathname.split('/').pop()}`)) return false;
      return FakeRegistry.proxyTo(registry.host)(req, res, url);
    });
    const target = freshEngine();
    const error = await pullLazy(target, `${fake.host}/bad/img:1`, { tag: 'img' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(/points outside its layer/);
    expect(target.images()).toEqual([]);
    expect([...target.store.digests()]).toEqual([]);
    expect(target.verify().ok).toBe(true);
  });
});
