import * as path from 'node:path';
import { type Engine, EngineError, type ImageRecord, checkName } from '../container/index.js';
import { importResolved } from '../image/import.js';
import { MEDIA, type Platform } from '../image/oci-json.js';
import { resolveOci } from '../image/resolve.js';
import { BlobCache } from './blob-cache.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { type ImageRef, formatRef, parseRef } from './reference.js';
import { type LayerEvent, RegistryFiles } from './registry-files.js';

export interface PullOptions extends ClientOptions {
  /** The local image name (default: the repository's last part, plus `-TAG` unless latest). */
  tag?: string;
  /** Replace a local image of that name. */
  force?: boolean;
  /** Which platform of a multi-platform index (default: the host's). */
  platform?: Partial<Platform>;
  /** Layers fetched at once (default 3). */
  concurrency?: number;
  onLayer?: (event: LayerEvent) => void;
}

export interface PulledImage {
  record: ImageRecord;
  ref: ImageRef;
  /** Bytes fetched over the network, and bytes skipped because a layer was already here. */
  fetched: number;
  cached: number;
}

/**
 * Pulls an image into the store: the manifest (by tag or digest; from an index, the host's
 * platform), the config and each layer, fetched a few at a time and streamed into the import
 * that `layerfs import` uses, so every digest and diff id is checked the same way. The image is
 * tagged only when every layer is in: a failed pull leaves no image, only unreferenced blobs for
 * gc, and partial downloads that the next pull resumes.
 */
export async function pullImage(engine: Engine, refText: string, options: PullOptions = {}): Promise<PulledImage> {
  const { ref, tag, client } = startPull(engine, refText, options);
  const work = engine.pin(`pulling ${formatRef(ref)}`);
  const abort = new AbortController();
  let fetched = 0;
  let cached = 0;
  const onLayer = (event: LayerEvent) => {
    if (event.state === 'done') fetched += event.size;
    if (event.state === 'cached') cached += event.size;
    options.onLayer?.(event);
  };
  try {
    const top = await client.getManifest(ref.repository, ref.digest ?? ref.tag!);
    const files = new RegistryFiles(client, ref.repository, top, engine.store, new BlobCache(engine.dir), path.join(engine.dir, 'registry', 'downloads'), {
      concurrency: options.concurrency ?? 3,
      onLayer,
      signal: abort.signal,
    });
    const resolved = await resolveOci(files, { ...(options.platform ? { platform: options.platform } : {}) });
    files.prefetch(resolved.layers);
    let imported;
    try {
      imported = await importResolved(engine.store, files, resolved, {});
    } catch (error) {
      // The other layers' downloads stop too (what they saved stays for the next pull).
      abort.abort(error);
      throw error;
    }
    const record = engine.tag(tag, imported.layers.map((layer) => layer.id), { force: options.force });
    const cache = new BlobCache(engine.dir);
    for (const [i, blob] of imported.blobs.entries()) {
      cache.note({ digest: blob.digest, size: blob.size, mediaType: resolvedType(blob.compression), diffId: blob.diffId, layers: [imported.layers[i]!.id], repos: [`${ref.registry}/${ref.repository}`] });
    }
    return { record, ref, fetched, cached };
  } finally {
    work.release();
    client.close();
  }
}

function resolvedType(compression: 'gzip' | 'none'): string {
  return compression === 'gzip' ? MEDIA.ociLayerGzip : MEDIA.ociLayer;
}

/** The reference, the local name (checked before anything is fetched) and a client. */
export function startPull(engine: Engine, refText: string, options: PullOptions): { ref: ImageRef; tag: string; client: RegistryClient } {
  const ref = parseRef(refText);
  const tag = options.tag ?? defaultName(ref);
  checkName('image', tag);
  if (!options.force && engine.images().some((image) => image.name === tag)) {
    throw new EngineError('EEXIST', `image ${tag} exists; choose another name with --tag, or replace it with --force`);
  }
  return { ref, tag, client: new RegistryClient(ref.registry, ref.scheme, options) };
}

/** `alpine` for docker.io/library/alpine:latest, `alpine-3.19` for alpine:3.19. */
export function defaultName(ref: ImageRef): string {
  const base = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  return ref.tag && ref.tag !== 'latest' ? `${base}-${ref.tag}` : base;
}
