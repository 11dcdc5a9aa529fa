import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Layer } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import { gzip } from './compression.js';
import { type ConfigOptions, imageConfig, jsonBytes } from './config.js';
import { type OciDigest, Tally, blobPath, sha256 } from './digest.js';
import { ImageError } from './errors.js';
import { type LayerExportOptions, layerTar } from './layer-export.js';
import { type Descriptor, type ImageIndex, MEDIA, REF_NAME, parseIndex } from './oci-json.js';
import { type TarWriteEntry, writeTar } from './tar.js';
import { writeStreamAtomic } from './write-file.js';

export interface ImageExportOptions extends LayerExportOptions, ConfigOptions {
  /** Names for the image: OCI reference names (`latest`) or docker tags (`name:tag`). */
  tags?: string[];
}

/** A layer as a blob: its digest and size, and the diff id of its tar. */
interface LayerBlobInfo {
  digest: OciDigest;
  size: number;
  diffId: OciDigest;
}

/** The JSON documents of an image whose layer blobs are known. */
interface Documents {
  config: Uint8Array;
  configDigest: OciDigest;
  manifest: Uint8Array;
  manifestDigest: OciDigest;
}

const LAYOUT = jsonBytes({ imageLayoutVersion: '1.0.0' });

/** A layer's blob stream (gzip or plain tar), with tallies for the blob and for its tar. */
function layerBlob(store: BlobStore, layer: Layer, compress: boolean, options: LayerExportOptions): { stream: AsyncIterable<Uint8Array>; blob: Tally; tar: Tally } {
  const tar = new Tally();
  const plain = tar.through(layerTar(store, layer, options));
  if (!compress) return { stream: plain, blob: tar, tar };
  const blob = new Tally();
  return { stream: blob.through(gzip(plain)), blob, tar };
}

async function measure(store: BlobStore, layer: Layer, compress: boolean, options: LayerExportOptions): Promise<LayerBlobInfo> {
  const { stream, blob, tar } = layerBlob(store, layer, compress, options);
  for await (const _ of stream);
  return { digest: blob.digest(), size: blob.bytes, diffId: tar.digest() };
}

/** The blob again, checked against the first pass: export must be deterministic to be correct. */
async function* again(store: BlobStore, layer: Layer, compress: boolean, options: LayerExportOptions, expected: LayerBlobInfo): AsyncGenerator<Uint8Array> {
  const { stream, blob } = layerBlob(store, layer, compress, options);
  yield* stream;
  if (blob.digest() !== expected.digest) throw new Error(`layer ${layer.id} gave different bytes on a second pass (${blob.digest()}, then ${expected.digest})`);
}

function documents(layers: readonly Layer[], blobs: readonly LayerBlobInfo[], layerType: string, options: ImageExportOptions): Documents {
  const config = jsonBytes(imageConfig(layers, blobs.map((blob) => blob.diffId), options));
  const configDigest = sha256(config);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
    layers: blobs.map((blob) => ({ mediaType: layerType, digest: blob.digest, size: blob.size })),
  });
  return { config, configDigest, manifest, manifestDigest: sha256(manifest) };
}

/** Index entries for the manifest: one per tag (how a layout holds several names), or one untagged. */
function manifestDescriptors(docs: Documents, tags: readonly string[] | undefined): Descriptor[] {
  const plain: Descriptor = { mediaType: MEDIA.ociManifest, digest: docs.manifestDigest, size: docs.manifest.length };
  if (!tags || tags.length === 0) return [plain];
  return tags.map((tag) => ({ ...plain, annotations: { [REF_NAME]: tag } }));
}

function indexBytes(manifests: readonly Descriptor[]): Uint8Array {
  return jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [...manifests] } satisfies ImageIndex);
}

const FILE = { type: 'file', mode: 0o644, mtime: 0n } as const;
const DIR = { type: 'dir', mode: 0o755, mtime: 0n } as const;

/**
 * The image as a tar of an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`),
 * layers gzip, byte-identical for the same layers and options. Each layer is generated twice
 * (once to learn its digest and size, once to write it) so memory stays bounded.
 */
export async function* ociArchive(store: BlobStore, layers: readonly Layer[], options: ImageExportOptions = {}): AsyncGenerator<Uint8Array> {
  const blobs: LayerBlobInfo[] = [];
  for (const layer of layers) blobs.push(await measure(store, layer, true, options));
  const docs = documents(layers, blobs, MEDIA.ociLayerGzip, options);
  const entries: TarWriteEntry[] = [
    { path: 'oci-layout', ...FILE, data: LAYOUT },
    { path: 'index.json', ...FILE, data: indexBytes(manifestDescriptors(docs, options.tags)) },
    { path: 'blobs', ...DIR },
    { path: 'blobs/sha256', ...DIR },
  ];
  const written = new Set<string>();
  for (const [i, layer] of layers.entries()) {
    const blob = blobs[i]!;
    if (written.has(blob.digest)) continue;
    written.add(blob.digest);
    entries.push({ path: blobPath(blob.digest), ...FILE, size: blob.size, data: again(store, layer, true, options, blob) });
  }
  entries.push({ path: blobPath(docs.configDigest), ...FILE, data: docs.config });
  entries.push({ path: blobPath(docs.manifestDigest), ...FILE, data: docs.manifest });
  yield* writeTar(entries);
}

/**
 * The image as a `docker save` tarball: `manifest.json` (Config, RepoTags, Layers), the config as
 * `<sha256>.json`, and each layer as an uncompressed `<diff id>/layer.tar`, the form every
 * `docker load` reads. Tags without a `:tag` get `:latest`, as docker names them.
 */
export async function* dockerArchive(store: BlobStore, layers: readonly Layer[], options: ImageExportOptions = {}): AsyncGenerator<Uint8Array> {
  const blobs: LayerBlobInfo[] = [];
  for (const layer of layers) blobs.push(await measure(store, layer, false, options));
  const docs = documents(layers, blobs, MEDIA.ociLayer, options);
  const hex = (digest: OciDigest) => digest.slice(digest.indexOf(':') + 1);
  const configFile = `${hex(docs.configDigest)}.json`;
  const tags = (options.tags ?? []).map((tag) => (/:[^/]+$/.test(tag) ? tag : `${tag}:latest`));
  const manifest = jsonBytes([{ Config: configFile, RepoTags: tags, Layers: blobs.map((blob) => `${hex(blob.diffId)}/layer.tar`) }]);
  const entries: TarWriteEntry[] = [];
  const written = new Set<string>();
  for (const [i, layer] of layers.entries()) {
    const blob = blobs[i]!;
    if (written.has(blob.diffId)) continue;
    written.add(blob.diffId);
    entries.push({ path: hex(blob.diffId), ...DIR });
    entries.push({ path: `${hex(blob.diffId)}/layer.tar`, ...FILE, size: blob.size, data: again(store, layer, false, options, blob) });
  }
  entries.push({ path: configFile, ...FILE, data: docs.config });
  entries.push({ path: 'manifest.json', ...FILE, data: manifest });
  yield* writeTar(entries);
}

/**
 * Writes the image into an OCI image layout folder, created if needed. Into an existing layout
 * the image is added (an entry of index.json with the same reference name is replaced). Blobs
 * are written first, each atomically; index.json last, atomically: until then the image is not
 * in the layout, and an interrupted export leaves the layout as it was (plus unreferenced blobs).
 */
export async function writeOciLayout(store: BlobStore, layers: readonly Layer[], dir: string, options: ImageExportOptions = {}): Promise<{ manifestDigest: OciDigest }> {
  await fs.promises.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const existing = await readExistingIndex(dir);
  const blobs: LayerBlobInfo[] = [];
  for (const layer of layers) {
    const { stream, blob, tar } = layerBlob(store, layer, true, options);
    // Named by its digest only once written: the digest is known at the end of the stream.
    const temp = path.join(dir, 'blobs', 'sha256', `.layer-${randomBytes(8).toString('hex')}.tmp`);
    await writeStreamAtomic(temp, stream);
    const info = { digest: blob.digest(), size: blob.bytes, diffId: tar.digest() };
    await fs.promises.rename(temp, path.join(dir, blobPath(info.digest)));
    blobs.push(info);
  }
  const docs = documents(layers, blobs, MEDIA.ociLayerGzip, options);
  await writeStreamAtomic(path.join(dir, blobPath(docs.configDigest)), [docs.config]);
  await writeStreamAtomic(path.join(dir, blobPath(docs.manifestDigest)), [docs.manifest]);
  await writeStreamAtomic(path.join(dir, 'oci-layout'), [LAYOUT]);
  const ours = manifestDescriptors(docs, options.tags);
  const names = new Set(ours.map((entry) => entry.annotations?.[REF_NAME]).filter((name) => name !== undefined));
  const kept = existing.filter((entry) => {
    const name = entry.annotations?.[REF_NAME];
    return name === undefined ? entry.digest !== docs.manifestDigest : !names.has(name);
  });
  await writeStreamAtomic(path.join(dir, 'index.json'), [indexBytes([...kept, ...ours])]);
  return { manifestDigest: docs.manifestDigest };
}

/** The manifests of a layout already in `dir`; a folder with other things in it is refused. */
async function readExistingIndex(dir: string): Promise<Descriptor[]> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(path.join(dir, 'index.json'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const others = (await fs.promises.readdir(dir)).filter((name) => name !== 'blobs' && name !== 'oci-layout');
    if (others.length > 0) throw new ImageError('EFORMAT', `${dir} is neither empty nor an OCI image layout (it has ${others.slice(0, 3).join(', ')})`);
    return [];
  }
  return parseIndex(bytes, `${dir}/index.json`).manifests;
}
