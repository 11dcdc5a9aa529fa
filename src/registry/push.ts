import { type ConfigOptions, imageConfig, jsonBytes } from '../image/config.js';
import { type OciDigest, Tally, sha256 } from '../image/digest.js';
import { gzip } from '../image/compression.js';
import { type LayerExportOptions, layerTar } from '../image/layer-export.js';
import { MEDIA, type Platform } from '../image/oci-json.js';
import type { Layer } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import { gzipSync } from 'node:zlib';
import { BlobCache } from './blob-cache.js';
import { putIndex } from './push-index.js';
import { ChunkRecorder, LAZY_CONFIG_TYPE, LAZY_INDEX_TYPE, LAZY_SCHEMA, type LazyIndex, type LazyLayer, lazyTag } from './lazy-index.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { type ImageRef, parseRef } from './reference.js';

export interface PushOptions extends ClientOptions, ConfigOptions, LayerExportOptions {
  /** Layers uploaded at once (default 3). */
  concurrency?: number;
  /** Bytes per PATCH of a chunked upload (default 16 MiB). */
  chunkSize?: number;
  onLayer?: (event: PushEvent) => void;
  /** Write the seekable form (see lazy-index.ts): plain tar layers and a layerfs index beside them. */
  lazy?: boolean;
  /** With `lazy`: files a program start reads, fetched by `pull --lazy` with the trees. */
  prefetch?: readonly string[];
  /** Put an image index at the tag: this image for its platform, beside the platforms already there. */
  index?: boolean;
}

export interface PushEvent {
  layer: string;
  /** How the layer got there: uploaded, already there (HEAD), or mounted from another repository. */
  state: 'uploading' | 'uploaded' | 'exists' | 'mounted';
  bytes: number;
}

export interface PushedImage {
  ref: ImageRef;
  manifestDigest: OciDigest;
  uploaded: number;
  exists: number;
  mounted: number;
  /** Bytes sent in layer uploads. */
  bytes: number;
}

interface PushedLayer {
  digest: OciDigest;
  size: number;
  diffId: OciDigest;
  mediaType: string;
  /** The seekable form's index entry (push --lazy). */
  lazy?: LazyLayer;
}

/**
 * Pushes layers (bottom first) as an OCI image: each layer blob is skipped when the registry has
 * it (HEAD), mounted when another repository of the same registry has it, or else uploaded in
 * chunks while it is exported (gzip tar, the bytes `layerfs export` writes), hashed on the way;
 * then the config, then the manifest under the tag. BlobCache remembers each layer's blob, so a
 * second push of an image sharing a base uploads only the new layers, without compressing the
 * base again. Nothing is tagged in the registry until every blob is in.
 */
export async function pushImage(store: BlobStore, storeDir: string, layers: readonly Layer[], refText: string, options: PushOptions = {}): Promise<PushedImage> {
  const ref = parseRef(refText);
  if (ref.digest) throw new TypeError(`${refText}: push to a tag, not a digest (the digest is the manifest's own)`);
  const client = new RegistryClient(ref.registry, ref.scheme, options);
  const cache = new BlobCache(storeDir);
  const here = `${ref.registry}/${ref.repository}`;
  const counts = { uploaded: 0, exists: 0, mounted: 0, bytes: 0 };
  try {
    const pushLayer = async (layer: Layer): Promise<PushedLayer> => {
      const report = (state: PushEvent['state'], bytes: number) => options.onLayer?.({ layer: layer.id, state, bytes });
      if (options.lazy) {
        const pushed = await pushSeekable(client, store, layer, ref.repository, options, (bytes) => report('uploading', bytes));
        counts.uploaded++;
        counts.bytes += pushed.size;
        report('uploaded', pushed.size);
        return pushed;
      }
      for (const blob of cache.forLayer(layer.id)) {
        if (!blob.mediaType.includes('gzip')) continue;
        if ((await client.blobSize(ref.repository, blob.digest)) === blob.size) {
          counts.exists++;
          report('exists', blob.size);
          return { ...blob, mediaType: MEDIA.ociLayerGzip };
        }
        for (const from of blob.repos) {
          const slash = from.indexOf('/');
          if (from.slice(0, slash) !== ref.registry || from === here) continue;
          if (await client.mountBlob(ref.repository, blob.digest, from.slice(slash + 1))) {
            cache.note({ ...blob, repos: [here] });
            counts.mounted++;
            report('mounted', blob.size);
            return { ...blob, mediaType: MEDIA.ociLayerGzip };
          }
        }
      }
      const tar = new Tally();
      report('uploading', 0);
      const sent = await client.uploadStream(ref.repository, gzip(tar.through(layerTar(store, layer, options))), {
        chunkSize: options.chunkSize,
        onBytes: (bytes) => report('uploading', bytes),
      });
      const pushed = { ...sent, diffId: tar.digest(), mediaType: MEDIA.ociLayerGzip };
      cache.note({ ...pushed, layers: [layer.id], repos: [here] });
      counts.uploaded++;
      counts.bytes += sent.size;
      report('uploaded', sent.size);
      return pushed;
    };
    const blobs = await mapLimit(layers, options.concurrency ?? 3, pushLayer);
    const config = jsonBytes(imageConfig(layers, blobs.map((blob) => blob.diffId), options));
    const configDigest = sha256(config);
    if ((await client.blobSize(ref.repository, configDigest)) !== config.length) await client.uploadBytes(ref.repository, config);
    const manifest = jsonBytes({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
      layers: blobs.map((blob) => ({ mediaType: blob.mediaType, digest: blob.digest, size: blob.size })),
    });
    const manifestDigest = sha256(manifest);
    await client.putManifest(ref.repository, options.index ? manifestDigest : ref.tag!, manifest, MEDIA.ociManifest);
    if (options.index) {
      const { architecture, os, variant } = JSON.parse(Buffer.from(config).toString()) as Platform;
      await putIndex(client, ref.repository, ref.tag!, { digest: manifestDigest, size: manifest.length, platform: { os, architecture, ...(variant ? { variant } : {}) } });
    }
    if (options.lazy) await pushLazyIndex(client, ref.repository, manifestDigest, blobs.map((blob) => blob.lazy!), options.prefetch);
    return { ref, manifestDigest, ...counts };
  } finally {
    client.close();
  }
}

/** A layer as a plain tar, uploaded while the offset of each content chunk in it is noted. */
async function pushSeekable(client: RegistryClient, store: BlobStore, layer: Layer, repository: string, options: PushOptions, onBytes: (bytes: number) => void): Promise<PushedLayer> {
  let offset = 0;
  const recorder = new ChunkRecorder(store, () => offset);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of layerTar(recorder, layer, options)) {
      offset += chunk.length;
      yield chunk;
    }
  }
  const sent = await client.uploadStream(repository, counted(), { chunkSize: options.chunkSize, onBytes });
  const lazy: LazyLayer = { blob: sent.digest, size: sent.size, layer: Buffer.from(store.get(layer.id)).toString('base64'), chunks: [...recorder.spans.values()] };
  return { ...sent, diffId: sent.digest, mediaType: MEDIA.ociLayer, lazy };
}

/** The index artifact, tagged after the image manifest it describes. */
async function pushLazyIndex(client: RegistryClient, repository: string, manifestDigest: OciDigest, layers: LazyLayer[], prefetch: readonly string[] | undefined): Promise<void> {
  const index: LazyIndex = { schema: LAZY_SCHEMA, layers, ...(prefetch?.length ? { prefetch: [...prefetch] } : {}) };
  const blob = gzipSync(jsonBytes(index));
  const blobDigest = await client.uploadBytes(repository, blob);
  const config = jsonBytes({ image: manifestDigest });
  const configDigest = await client.uploadBytes(repository, config);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: LAZY_CONFIG_TYPE, digest: configDigest, size: config.length },
    layers: [{ mediaType: LAZY_INDEX_TYPE, digest: blobDigest, size: blob.length }],
    annotations: { 'dev.layerfs.image': manifestDigest },
  });
  await client.putManifest(repository, lazyTag(manifestDigest), manifest, MEDIA.ociManifest);
}

/** `work` over the items, at most `limit` at once, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
