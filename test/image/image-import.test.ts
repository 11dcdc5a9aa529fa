import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type ImageConfig, ImageError, dockerArchive, importImage, layerTarGzip, ociArchive, packTar, writeOciLayout } from '../../src/image/index.js';
import { Engine, type Layer, MemoryBlobStore, layerFromSpec } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { bytesOf, viewTree } from './oci-helpers.js';

function sha(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sample(store = new MemoryBlobStore()) {
  const base = layerFromSpec(store, {
    '/etc/passwd': 'root:x:0:0',
    '/bin/sh': { kind: 'file', data: 'ELF', mode: 0o755 },
    '/usr/lib/big': seededBytes(5 * 1024 * 1024, 7),
    '/var/cache/x': 'x',
  });
  const top = layerFromSpec(store, { '/etc/passwd': { kind: 'whiteout' }, '/var/cache': { kind: 'dir', opaque: true }, '/var/cache/y': 'y', '/home/me': 'me' });
  return { store, layers: [base, top] };
}

/** Rewrites a layout's config and manifest (and the digests naming them), as a forger would. */
function forge(dir: string, edit: { config?: (config: ImageConfig) => void; manifest?: (manifest: { layers: { digest: string; size: number; mediaType: string }[] }) => void }): void {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const blob = (digest: string) => path.join(dir, 'blobs', 'sha256', digest.slice(7));
  const write = (value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    fs.writeFileSync(blob(sha(bytes)), bytes);
    return { digest: sha(bytes), size: bytes.length };
  };
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
  if (edit.config) {
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
    edit.config(config);
    Object.assign(manifest.config, write(config));
  }
  edit.manifest?.(manifest);
  Object.assign(index.manifests[0], write(manifest));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
}

async function layout(layers: Layer[], store: MemoryBlobStore, tags = ['latest']): Promise<string> {
  const dir = path.join(tempDir(), 'layout');
  await writeOciLayout(store, layers, dir, { tags });
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<ImageError> {
  const error = await promise.then(() => { throw new Error('imported'); }, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ImageError);
  return error as ImageError;
}

describe('image import: the formats', () => {
  it('an OCI layout folder, a tar of it (GNU tar, ./ names) and our OCI archive give the same layers', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const tarred = execFileSync('tar', ['-cf', '-', '-C', dir, '.'], { maxBuffer: 1 << 28 });
    for (const input of [dir, tarred, await bytesOf(ociArchive(store, layers, { tags: ['latest'] }))]) {
      const fresh = new MemoryBlobStore();
      const image = await importImage(fresh, input);
      expect(image.format).toBe('oci');
      expect(image.layers.map((layer) => layer.id)).toEqual(layers.map((layer) => layer.id));
      expect(image.tags).toEqual(['latest']);
      expect(image.config?.rootfs.diff_ids).toEqual(image.blobs.map((blob) => blob.diffId));
      expect(viewTree(fresh, image.layers)).toEqual(viewTree(store, layers));
    }
  });

  it('a docker save tarball, gzipped or not, and extracted into a folder', async () => {
    const { store, layers } = sample();
    const archive = await bytesOf(dockerArchive(store, layers, { tags: ['app:1.0'] }));
    const folder = tempDir();
    execFileSync('tar', ['-xf', '-', '-C', folder], { input: archive });
    for (const input of [archive, gzipSync(archive), folder]) {
      const image = await importImage(new MemoryBlobStore(), input);
      expect(image).toMatchObject({ format: 'docker', tags: ['app:1.0'] });
      expect(image.layers.map((layer) => layer.id)).toEqual(layers.map((layer) => layer.id));
    }
  });

  it('docker 25 archives (an OCI layout plus manifest.json naming blobs/) read either way', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    const blobs = (digest: string) => `blobs/sha256/${digest.slice(7)}`;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: blobs(manifest.config.digest), RepoTags: ['app:latest'], Layers: manifest.layers.map((layer: { digest: string }) => blobs(layer.digest)) }]));
    const oci = await importImage(new MemoryBlobStore(), dir);
    const docker = await importImage(new MemoryBlobStore(), dir, { format: 'docker' });
    expect(oci.format).toBe('oci');
    expect(docker.format).toBe('docker');
    expect(docker.layers.map((layer) => layer.id)).toEqual(oci.layers.map((layer) => layer.id));
  });

  it('a single layer tarball, plain or gzip', async () => {
    const { store, layers } = sample();
    const gz = await bytesOf(layerTarGzip(store, layers[1]!));
    const image = await importImage(new MemoryBlobStore(), gz);
    expect(image).toMatchObject({ format: 'layer', config: undefined, tags: [] });
    expect(image.layers[0]!.id).toBe(layers[1]!.id);
    expect(image.blobs[0]!.digest).toBe(sha(gz));
  });

  it('follows the symlinks old docker save writes for shared layer.tar files', async () => {
    const { store, layers } = sample();
    const archive = await bytesOf(dockerArchive(store, layers));
    const folder = tempDir();
    execFileSync('tar', ['-xf', '-', '-C', folder], { input: archive });
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    fs.mkdirSync(path.join(folder, 'alias'));
    fs.symlinkSync(`../${manifest[0].Layers[0]}`, path.join(folder, 'alias/layer.tar'));
    manifest[0].Layers[0] = 'alias/layer.tar';
    fs.writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
    const tarred = execFileSync('tar', ['-cf', '-', '-C', folder, '.'], { maxBuffer: 1 << 28 });
    for (const input of [folder, tarred]) {
      expect((await importImage(new MemoryBlobStore(), input, { format: 'docker' })).layers.map((layer) => layer.id)).toEqual(layers.map((layer) => layer.id));
    }
  });
});

describe('image import: digests', () => {
  it('refuses a layer blob whose digest is not the manifest\'s, naming the layer', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const manifestLayers: { digest: string }[] = [];
    forge(dir, { manifest: (manifest) => manifestLayers.push(...manifest.layers) });
    // Another valid layer under the second layer's name.
    const other = await bytesOf(layerTarGzip(store, layerFromSpec(store, { '/evil': 'x' })));
    fs.writeFileSync(path.join(dir, 'blobs/sha256', manifestLayers[1]!.digest.slice(7)), other);
    const error = await rejection(importImage(new MemoryBlobStore(), dir));
    expect(error.code).toBe('EDIGEST');
    expect(error.message).toContain(`layer 2 of 2 (${manifestLayers[1]!.digest}) has digest ${sha(other)}, not the ${manifestLayers[1]!.digest} the manifest states`);
  });

  it('refuses a diff id that is not the config\'s, naming the layer', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const wrong = `sha256:${'0'.repeat(64)}`;
    forge(dir, { config: (config) => { config.rootfs.diff_ids[0] = wrong as `sha256:${string}`; } });
    const error = await rejection(importImage(new MemoryBlobStore(), dir));
    expect(error.code).toBe('EDIGEST');
    expect(error.message).toMatch(/layer 1 of 2 \(sha256:[0-9a-f]{64}\) has diff id sha256:[0-9a-f]{64}, not the sha256:0{64} the config states/);
  });

  it('refuses a docker save layer.tar that is not the tar the config names', async () => {
    const { store, layers } = sample();
    const folder = tempDir();
    execFileSync('tar', ['-xf', '-', '-C', folder], { input: await bytesOf(dockerArchive(store, layers)) });
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    fs.writeFileSync(path.join(folder, manifest[0].Layers[1]), packTar([{ path: 'swapped', type: 'file' }]));
    const error = await rejection(importImage(new MemoryBlobStore(), folder));
    expect(error.code).toBe('EDIGEST');
    expect(error.message).toContain(`layer 2 of 2 (${manifest[0].Layers[1]}) has diff id`);
  });

  it('refuses a wrong size, a forged config or manifest blob, and missing blobs', async () => {
    const { store, layers } = sample();
    let dir = await layout(layers, store);
    forge(dir, { manifest: (manifest) => { manifest.layers[0]!.size += 1; } });
    expect((await rejection(importImage(new MemoryBlobStore(), dir))).message).toMatch(/layer 1 of 2 .* bytes, not the \d+ the manifest states/);

    dir = await layout(layers, store);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const manifestFile = path.join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7));
    fs.writeFileSync(manifestFile, fs.readFileSync(manifestFile, 'utf8').replace('"schemaVersion":2', '"schemaVersion":2 '));
    expect((await rejection(importImage(new MemoryBlobStore(), dir))).code).toBe('EDIGEST');

    dir = await layout(layers, store);
    forge(dir, { manifest: (manifest) => fs.rmSync(path.join(dir, 'blobs/sha256', manifest.layers[1]!.digest.slice(7))) });
    const missing = await rejection(importImage(new MemoryBlobStore(), dir));
    expect(missing.code).toBe('ENOENT');
    expect(missing.message).toContain('layer 2 of 2');
  });
});

describe('image import: hostile images', () => {
  it('refuses digests and paths that would leave the image', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    index.manifests[0].digest = 'sha256:../../../../etc/passwd';
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
    expect((await rejection(importImage(new MemoryBlobStore(), dir))).message).toMatch(/index.json.manifests\[0\].digest: "sha256:..\/..\/..\/..\/etc\/passwd" is not a sha256 or sha512 digest/);

    const folder = tempDir();
    execFileSync('tar', ['-xf', '-', '-C', folder], { input: await bytesOf(dockerArchive(store, layers)) });
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    for (const [field, value, message] of [
      ['Layers', ['../../../etc/passwd', manifest[0].Layers[1]], /climbs out of the image/],
      ['Config', '/etc/passwd', /is absolute/],
    ] as const) {
      fs.writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify([{ ...manifest[0], [field]: value }]));
      const error = await rejection(importImage(new MemoryBlobStore(), folder));
      expect(error.message).toMatch(message);
      const tarred = execFileSync('tar', ['-cf', '-', '-C', folder, '.'], { maxBuffer: 1 << 28 });
      expect((await rejection(importImage(new MemoryBlobStore(), tarred))).message).toMatch(message);
    }
  });

  it('refuses a layout whose blob is a symlink out of it, or a fifo, without reading them', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const manifestLayers: { digest: string }[] = [];
    forge(dir, { manifest: (manifest) => manifestLayers.push(...manifest.layers) });
    const blob = path.join(dir, 'blobs/sha256', manifestLayers[0]!.digest.slice(7));
    fs.rmSync(blob);
    fs.symlinkSync('/etc/hostname', blob);
    expect((await rejection(importImage(new MemoryBlobStore(), dir))).message).toMatch(/is a symlink that leads out of the image/);
    fs.rmSync(blob);
    execFileSync('mkfifo', [blob]);
    expect((await rejection(importImage(new MemoryBlobStore(), dir))).message).toMatch(/is not a regular file/);
  });

  it('refuses malformed JSON, other schema versions, oversized documents and unsupported layers', async () => {
    const { store, layers } = sample();
    const cases: [(dir: string) => void, RegExp, string][] = [
      [(dir) => fs.writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion": 2, "manifests": ['), /index.json is not valid JSON/, 'EFORMAT'],
      [(dir) => fs.writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion": 1, "manifests": []}'), /schemaVersion 1/, 'EUNSUPPORTED'],
      [(dir) => fs.writeFileSync(path.join(dir, 'index.json'), Buffer.alloc(5 * 1024 * 1024, 0x20)), /more than the 4194304 allowed/, 'ELIMIT'],
      [(dir) => fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion": "2.0.0"}'), /imageLayoutVersion "2.0.0"/, 'EUNSUPPORTED'],
      [(dir) => forge(dir, { manifest: (manifest) => { manifest.layers[0]!.mediaType = 'application/vnd.oci.image.layer.v1.tar+zstd'; } }), /layer 1 of 2 .* has media type application\/vnd.oci.image.layer.v1.tar\+zstd/, 'EUNSUPPORTED'],
      [(dir) => forge(dir, { config: (config) => { config.rootfs.diff_ids.pop(); } }), /lists 1 diff ids for 2 layers/, 'EFORMAT'],
    ];
    for (const [damage, message, code] of cases) {
      const dir = await layout(layers, store);
      damage(dir);
      const error = await rejection(importImage(new MemoryBlobStore(), dir));
      expect(error.message).toMatch(message);
      expect(error.code).toBe(code);
    }
  });

  it('imports large layers while an archive streams past, and ignores large blobs it does not use', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    fs.writeFileSync(path.join(dir, 'blobs/sha256', 'f'.repeat(64)), seededBytes(6 * 1024 * 1024, 3));
    const tarred = execFileSync('tar', ['-cf', '-', '-C', dir, '.'], { maxBuffer: 1 << 28 });
    expect((await importImage(new MemoryBlobStore(), tarred)).layers.map((layer) => layer.id)).toEqual(layers.map((layer) => layer.id));
  });
});

describe('image import: choosing an image', () => {
  it('needs a reference name when a layout holds several images', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store, ['one']);
    await writeOciLayout(store, layers.slice(0, 1), dir, { tags: ['two'] });
    const error = await rejection(importImage(new MemoryBlobStore(), dir));
    expect(error.code).toBe('EAMBIGUOUS');
    expect(error.message).toMatch(/one .*; two /);
    expect((await importImage(new MemoryBlobStore(), dir, { ref: 'two' })).layers).toHaveLength(1);
    expect((await importImage(new MemoryBlobStore(), dir, { ref: 'one' })).layers).toHaveLength(2);
    expect((await rejection(importImage(new MemoryBlobStore(), dir, { ref: 'three' }))).code).toBe('ENOENT');
  });

  it('picks the platform from a multi-platform index, skipping attestation manifests', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store, []);
    await writeOciLayout(store, layers.slice(0, 1), dir, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const [amd, arm] = index.manifests;
    amd.platform = { os: 'linux', architecture: 'amd64' };
    arm.platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const attestation = { ...amd, platform: { os: 'unknown', architecture: 'unknown' } };
    const nested = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [attestation, arm, amd] }));
    fs.writeFileSync(path.join(dir, 'blobs/sha256', sha(nested).slice(7)), nested);
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(nested), size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
    }));
    expect((await importImage(new MemoryBlobStore(), dir, { platform: { os: 'linux', architecture: 'amd64' } })).layers).toHaveLength(2);
    const armImage = await importImage(new MemoryBlobStore(), dir, { platform: { architecture: 'arm64' } });
    expect(armImage.layers).toHaveLength(1);
    expect(armImage.config).toMatchObject({ architecture: 'arm64', variant: 'v8' });
    expect(armImage.tags).toEqual(['multi']);
    expect((await rejection(importImage(new MemoryBlobStore(), dir, { platform: { architecture: 's390x' } }))).code).toBe('ENOENT');
  });
});

describe('image import is atomic', () => {
  it('a failed or interrupted import leaves no image; the image appears when it is tagged', async () => {
    const { store, layers } = sample();
    const dir = await layout(layers, store);
    const engine = Engine.open(path.join(tempDir(), 'store'), { durable: false });
    const good = await importImage(engine.store, dir);
    engine.tag('good', good.layers.map((layer) => layer.id));

    const broken = await layout(layers, store);
    forge(broken, { config: (config) => { config.rootfs.diff_ids[1] = `sha256:${'1'.repeat(64)}`; } });
    await rejection(importImage(engine.store, broken));

    const controller = new AbortController();
    const archive = await bytesOf(ociArchive(store, layers));
    const interrupted = importImage(engine.store, archive, { signal: controller.signal, onEntry: () => controller.abort(new Error('stopped')) });
    await expect(interrupted).rejects.toThrow('stopped');

    expect(engine.images().map((image) => image.name)).toEqual(['good']);
    engine.gc();
    expect(engine.verify().ok).toBe(true);
    expect(viewTree(engine.store, engine.image('good').layers)).toEqual(viewTree(store, layers));
  });
});
