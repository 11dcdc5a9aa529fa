import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/container/index.js';
import { type OciDigest, writeOciLayout } from '../../src/image/index.js';
import { type PullOptions, RegistryClient, RegistryError, pullImage } from '../../src/registry/index.js';
import { tempDir } from '../helpers/tmp.js';
import { baseAndApp, freshEngine, treeOf } from './helpers.js';
import { FakeRegistry } from './fake-registry.js';

const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const quick: PullOptions = { timeoutMs: 400, retries: 2, backoffMs: 10 };

/** A pull that must fail: the error, and the store left with no image and nothing broken. */
async function failedPull(engine: Engine, ref: string, options: PullOptions = quick): Promise<RegistryError | Error> {
  const error = await pullImage(engine, ref, { tag: 'got', ...options }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, 'the pull should have failed').toBeDefined();
  expect(engine.images()).toEqual([]);
  expect(engine.verify().ok).toBe(true);
  return error!;
}

describe('a registry that lies, stalls or redirects', () => {
  let fake: FakeRegistry;
  let source: Engine;
  let layerDigests: string[];

  beforeEach(async () => {
    fake = await FakeRegistry.start();
    source = freshEngine();
    baseAndApp(source);
    const layout = path.join(tempDir(), 'layout');
    await writeOciLayout(source.store, source.image('app').layers, layout, { tags: ['1'] });
    fake.addLayout(layout, 'img');
    const manifest = JSON.parse(Buffer.from(fake.manifests.get('img:1')!.bytes).toString()) as { layers: { digest: string }[] };
    layerDigests = manifest.layers.map((layer) => layer.digest);
  });
  afterEach(() => fake.stop());

  /** Adds an image whose single layer is `layer` (its digest and size stated truthfully). */
  function addImage(tag: string, layer: Uint8Array): string {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(Buffer.from('whatever'))] } }));
    fake.blobs.set(`img@${sha(config)}`, { bytes: config });
    fake.blobs.set(`img@${sha(layer)}`, { bytes: layer });
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
    }));
    fake.manifests.set(`img:${tag}`, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    return sha(layer);
  }

  it('an honest answer pulls (the baseline for every case below)', async () => {
    const engine = freshEngine();
    await pullImage(engine, `${fake.host}/img:1`, { tag: 'got', ...quick });
    expect(treeOf(engine, 'got')).toEqual(treeOf(source, 'app'));
  });

  it('a manifest over 4 MiB: ELIMIT, nothing read past the limit', async () => {
    const huge = Buffer.from(JSON.stringify({ schemaVersion: 2, annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } }));
    fake.manifests.set('img:huge', { bytes: huge, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    const error = await failedPull(freshEngine(), `${fake.host}/img:huge`);
    expect((error as RegistryError).code).toBe('ELIMIT');
    expect(error.message).toMatch(/manifest huge.*4194304/);
  });

  it('a layer whose bytes do not match its digest: EDIGEST naming the blob', async () => {
    // The second layer's digest serves the first layer's (valid gzip tar) bytes.
    fake.blobs.set(`img@${layerDigests[1]}`, fake.blobs.get(`img@${layerDigests[0]}`)!);
    const error = await failedPull(freshEngine(), `${fake.host}/img:1`);
    expect(error.message).toContain(layerDigests[1]);
    expect(error.message).toMatch(/other bytes than the digest names|has digest/);
  });

  it('a truncated gzip layer (its digest true to the truncated bytes): EFORMAT naming the layer', async () => {
    const whole = fake.blobs.get(`img@${layerDigests[0]}`)!.bytes;
    const digest = addImage('truncated', whole.subarray(0, whole.length - 20));
    const error = await failedPull(freshEngine(), `${fake.host}/img:truncated`);
    expect(error.message).toContain(digest);
    expect(error.message).toMatch(/not valid gzip|unexpected end/);
  });

  it('a registry that stalls mid-blob and then answers the Range request: the download resumes', async () => {
    const target = layerDigests[0]!;
    let stalled = false;
    fake.hooks.push((req, res, url) => {
      if (stalled || req.method !== 'GET' || !url.pathname.endsWith(target)) return false;
      stalled = true;
      const bytes = fake.blobs.get(`img@${target}`)!.bytes;
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, 100_000));
      return true;
    });
    const engine = freshEngine();
    await pullImage(engine, `${fake.host}/img:1`, { tag: 'got', ...quick });
    expect(treeOf(engine, 'got')).toEqual(treeOf(source, 'app'));
    expect(fake.requests.filter((request) => request.url.endsWith(target)).map((request) => request.range)).toEqual([undefined, 'bytes=100000-']);
  });

  it('a registry that stalls mid-blob every time: ENETWORK naming the blob, after the retries', async () => {
    const target = layerDigests[0]!;
    fake.hooks.push((req, res, url) => {
      if (req.method !== 'GET' || !url.pathname.endsWith(target)) return false;
      const bytes = fake.blobs.get(`img@${target}`)!.bytes;
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, 1000));
      return true;
    });
    const error = await failedPull(freshEngine(), `${fake.host}/img:1`);
    expect((error as RegistryError).code).toBe('ENETWORK');
    expect(error.message).toContain(target);
  });

  it('layers are fetched in parallel: the first layer\'s answer waits for the second layer\'s request', async () => {
    const [first, second] = layerDigests as [string, string];
    fake.hooks.push(async (req, _res, url) => {
      if (!url.pathname.endsWith(first)) return false;
      // Sequential fetching would never ask for the second layer while this one is pending.
      const deadline = Date.now() + 5000;
      while (!fake.requests.some((request) => request.url.endsWith(second))) {
        if (Date.now() > deadline) throw new Error('the second layer was not asked for while the first was pending');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    });
    const engine = freshEngine();
    await pullImage(engine, `${fake.host}/img:1`, { tag: 'got', ...quick, timeoutMs: 10_000 });
    expect(treeOf(engine, 'got')).toEqual(treeOf(source, 'app'));
  });

  it('a registry that ignores a multi-range request is asked range by range', async () => {
    const digest = layerDigests[0]! as OciDigest;
    const whole = fake.blobs.get(`img@${digest}`)!.bytes;
    const client = new RegistryClient(fake.host, 'http', quick);
    const ranges: [number, number][] = [[5, 10], [100, 200], [1000, 1001]];
    const parts = await client.blobRanges('img', digest, ranges);
    client.close();
    ranges.forEach(([start, end], i) => expect(Buffer.compare(parts[i]!, whole.subarray(start, end))).toBe(0));
    expect(fake.requests.filter((request) => request.range).map((request) => request.range)).toEqual(['bytes=5-9,100-199,1000-1000', 'bytes=5-9', 'bytes=100-199', 'bytes=1000-1000']);
  });

  it('503 twice, then an answer: the pull retries with backoff and succeeds', async () => {
    let refused = 0;
    fake.hooks.push((req, res, url) => {
      if (!url.pathname.includes('/manifests/') || refused >= 2) return false;
      refused++;
      res.writeHead(503).end();
      return true;
    });
    const engine = freshEngine();
    await pullImage(engine, `${fake.host}/img:1`, { tag: 'got', ...quick });
    expect(refused).toBe(2);
  });

  describe('a redirect to another host', () => {
    let other: FakeRegistry;
    beforeEach(async () => {
      other = await FakeRegistry.start();
      // The registry wants a login, and sends blob downloads elsewhere (as S3-backed ones do).
      fake.hooks.push((req, res, url) => {
        if (req.headers.authorization !== `Basic ${Buffer.from('me:pw').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
          return true;
        }
        const match = /\/blobs\/(sha256:[a-f0-9]+)$/.exec(url.pathname);
        if (!match || !layerDigests.includes(match[1]!)) return false;
        res.writeHead(307, { location: `http://${other.host}/storage/${match[1]}` }).end();
        return true;
      });
    });
    afterEach(() => other.stop());

    const withLogin = (): PullOptions => {
      const file = path.join(tempDir(), 'auth.json');
      fs.writeFileSync(file, JSON.stringify({ auths: { [fake.host]: { auth: Buffer.from('me:pw').toString('base64') } } }));
      return { ...quick, env: { REGISTRY_AUTH_FILE: file } };
    };

    it('is followed without the registry\'s credentials, and the bytes are still checked', async () => {
      other.hooks.push((_req, res, url) => {
        const digest = url.pathname.slice('/storage/'.length);
        res.writeHead(200).end(fake.blobs.get(`img@${digest}`)!.bytes);
        return true;
      });
      const engine = freshEngine();
      await pullImage(engine, `${fake.host}/img:1`, { tag: 'got', ...withLogin() });
      expect(treeOf(engine, 'got')).toEqual(treeOf(source, 'app'));
      expect(other.requests.length).toBe(2);
      expect(other.requests.every((request) => request.authorization === undefined)).toBe(true);
    });

    it('whose host sends other bytes: EDIGEST naming the blob, no image', async () => {
      other.hooks.push((_req, res) => {
        res.writeHead(200).end(fake.blobs.get(`img@${layerDigests[0]}`)!.bytes);
        return true;
      });
      const error = await failedPull(freshEngine(), `${fake.host}/img:1`, withLogin());
      expect(error.message).toContain(layerDigests[1]);
    });
  });

  it('an index: the host platform\'s image is taken, --platform takes another', async () => {
    const app = fake.manifests.get('img:1')!;
    const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
    const otherArch = arch === 'arm64' ? 'amd64' : 'arm64';
    const layout = path.join(tempDir(), 'base-layout');
    await writeOciLayout(source.store, source.image('base').layers, layout, { tags: ['base'] });
    fake.addLayout(layout, 'img');
    const base = fake.manifests.get('img:base')!;
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(base.bytes), size: base.bytes.length, platform: { os: 'linux', architecture: otherArch } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(app.bytes), size: app.bytes.length, platform: { os: 'linux', architecture: arch } },
      ],
    }));
    fake.manifests.set('img:multi', { bytes: index, mediaType: 'application/vnd.oci.image.index.v1+json' });
    const engine = freshEngine();
    expect((await pullImage(engine, `${fake.host}/img:multi`, { tag: 'mine', ...quick })).record.layers).toHaveLength(2);
    expect((await pullImage(engine, `${fake.host}/img:multi`, { tag: 'theirs', platform: { os: 'linux', architecture: otherArch }, ...quick })).record.layers).toHaveLength(1);
  });
});
