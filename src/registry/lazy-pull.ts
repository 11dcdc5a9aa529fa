import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Engine } from '../container/index.js';
import { isManifestType, parseConfig, parseManifest } from '../image/oci-json.js';
import { Layer, type LayerId, WHITEOUT } from '../layer/index.js';
import { type Digest, contentDigests } from '../store/index.js';
import { MAX_MANIFEST } from './client.js';
import { RegistryError } from './errors.js';
import { LAZY_INDEX_TYPE, lazyTag, parseLazyIndex } from './lazy-index.js';
import { type LazyRecord, LazyRecords } from './lazy-records.js';
import { fetchChunks } from './lazy-rest.js';
import { type PullOptions, type PulledImage, pullImage, startPull } from './pull.js';
import { formatRef } from './reference.js';

/** Largest index blob taken (its trees and chunk tables; a 1 GiB image's is a few MiB). */
const MAX_INDEX = 256 * 1024 * 1024;

export interface LazyPulledImage extends PulledImage {
  /** False when the image has no seekable form and was pulled whole. */
  lazy: boolean;
  /**
   * The fetch of the prefetch list's files, which goes on after the image is tagged: resolves to
   * the bytes fetched. The store stays pinned (no gc) until it ends.
   */
  prefetching?: Promise<number>;
}

/** The chunks of the listed files, from the topmost layer that has each (a whiteout hides it). */
function prefetchSet(engine: Engine, ids: readonly LayerId[], files: readonly string[]): Set<Digest> {
  const layers = ids.map((id) => Layer.load(engine.store, id)).reverse();
  const chunks = new Set<Digest>();
  for (const file of files) {
    for (const layer of layers) {
      const ino = layer.lookup(file);
      if (ino === undefined) continue;
      if (ino !== WHITEOUT) {
        const inode = layer.inode(ino);
        if (inode.kind === 'file') for (const digest of contentDigests(inode.content)) chunks.add(digest);
      }
      break;
    }
  }
  return chunks;
}

/**
 * Pulls an image lazily when it has the seekable form (lazy-index.ts): the manifest, config and
 * index are fetched and checked, each layer's tree is stored from the index (its id must be the
 * hash of the encoding, as any layer's is), a record says where every chunk lies, and the image
 * is tagged: usable at once, contents fetched on first read (LazyBlobStore). Without an index
 * (a plain image, or an index of several platforms) it is pulled whole.
 */
export async function pullLazy(engine: Engine, refText: string, options: PullOptions = {}): Promise<LazyPulledImage> {
  const { ref, tag, client } = startPull(engine, refText, options);
  let background: Promise<unknown> | undefined;
  const where = `${ref.registry}/${ref.repository}`;
  const work = engine.pin(`pulling ${formatRef(ref)} lazily`);
  try {
    const top = await client.getManifest(ref.repository, ref.digest ?? ref.tag!);
    const indexManifest = isManifestType(top.mediaType) ? await client.getManifest(ref.repository, lazyTag(top.digest)).catch((error: unknown) => {
      if (error instanceof RegistryError && error.code === 'ENOTFOUND') return undefined;
      throw error;
    }) : undefined;
    if (!indexManifest) {
      return { ...(await pullImage(engine, refText, options)), lazy: false };
    }
    const manifest = parseManifest(top.bytes, `${where}: manifest ${top.digest}`);
    const artifact = parseManifest(indexManifest.bytes, `${where}: layerfs index ${lazyTag(top.digest)}`);
    const indexBlob = artifact.layers.find((layer) => layer.mediaType === LAZY_INDEX_TYPE);
    if (!indexBlob) throw new RegistryError('EPROTOCOL', `${where}: ${lazyTag(top.digest)} holds no ${LAZY_INDEX_TYPE} blob`);
    const indexWhat = `${where}: layerfs index ${indexBlob.digest}`;
    const compressed = await client.getBlob(ref.repository, indexBlob.digest, indexBlob.size, MAX_INDEX);
    let json: Uint8Array;
    try {
      json = gunzipSync(compressed, { maxOutputLength: MAX_INDEX });
    } catch (error) {
      throw new RegistryError('EPROTOCOL', `${indexWhat} is not valid gzip: ${(error as Error).message}`, { cause: error });
    }
    const index = parseLazyIndex(json, manifest.layers, indexWhat);
    const configBytes = await client.getBlob(ref.repository, manifest.config.digest, manifest.config.size, MAX_MANIFEST);
    const config = parseConfig(configBytes, `${where}: config ${manifest.config.digest}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new RegistryError('EPROTOCOL', `${where}: the config lists ${config.rootfs.diff_ids.length} diff ids for ${manifest.layers.length} layers`);
    const ids = index.layers.map((entry, i) => {
      const what = `${indexWhat}: layer ${i + 1} (${entry.blob})`;
      const id = engine.store.put(Buffer.from(entry.layer, 'base64'));
      try {
        Layer.load(engine.store, id);
      } catch (error) {
        throw new RegistryError('EPROTOCOL', `${what}: its tree does not decode: ${(error as Error).message}`, { cause: error });
      }
      return id;
    });
    // The record first: a tagged lazy image always knows where its chunks are.
    const lazyRecord: LazyRecord = {
      image: tag,
      registry: ref.registry,
      repository: ref.repository,
      ...(ref.scheme ? { scheme: ref.scheme } : {}),
      // Absolute: a mount daemon reading through this record runs in /.
      ...(options.caFile ? { caFile: path.resolve(options.caFile) } : {}),
      ...(options.insecure ? { insecure: true } : {}),
      layers: index.layers.map(({ blob, size, chunks }) => ({ blob, size, chunks })),
    };
    new LazyRecords(engine.dir).write(lazyRecord);
    const record = engine.tag(tag, ids, { force: options.force });
    const fetched = compressed.length + configBytes.length + top.bytes.length + indexManifest.bytes.length;
    // The image is usable now; the files a program start reads follow, several requests at once
    // (a read would fetch them one by one), while a mount starts. A read that comes first
    // fetches its chunk itself.
    const wanted = prefetchSet(engine, ids, index.prefetch ?? []);
    if (wanted.size === 0) return { record, ref, fetched, cached: 0, lazy: true };
    const prefetching = fetchChunks(engine.store, client, lazyRecord, (digest) => wanted.has(digest), { maxGap: 4096, concurrency: 8 }).then((done) => {
      engine.store.sync();
      return done.fetchedBytes;
    });
    const [releasedWork, closedClient] = [work, client];
    background = prefetching.finally(() => {
      releasedWork.release();
      closedClient.close();
    });
    // The caller awaits it (or not); a failure is its to report, never an unhandled rejection.
    background.catch(() => {});
    return { record, ref, fetched, cached: 0, lazy: true, prefetching };
  } finally {
    if (!background) {
      work.release();
      client.close();
    }
  }
}
