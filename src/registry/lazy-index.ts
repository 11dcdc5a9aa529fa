import { type OciDigest, isOciDigest } from '../image/digest.js';
import type { Descriptor } from '../image/oci-json.js';
import { type BlobStore, type Digest, isDigest } from '../store/index.js';
import { RegistryError } from './errors.js';
import { WrappedStore } from './wrapped-store.js';

/**
 * The seekable form `layerfs push --lazy` writes, and `layerfs pull --lazy` reads.
 *
 * Each layer is an uncompressed tar blob (`application/vnd.oci.image.layer.v1.tar`), so every
 * registry, runtime and tool reads the image as usual. Beside the image, an artifact tagged
 * `sha256-<image manifest hex>.layerfs` (the tag scheme cosign and the OCI referrers fallback
 * use; distribution 2.8 has no referrers API) holds one gzip JSON blob, the index: per layer,
 * layerfs's own encoding of the layer's tree (names, modes, owners, chunk digests) and where
 * each content chunk lies in the tar (offset, length). A lazy pull stores the trees at once and
 * fetches a chunk with one HTTP Range request the first time it is read, checking it against
 * its xxh64 digest before it enters the store; the tar's sha256 is for whole-blob tools. An
 * optional prefetch list names the files a program start reads, fetched with the trees.
 */
export const LAZY_INDEX_TYPE = 'application/vnd.layerfs.lazy-index.v1+json+gzip';
export const LAZY_CONFIG_TYPE = 'application/vnd.layerfs.lazy-config.v1+json';
export const LAZY_SCHEMA = 'layerfs.lazy.v1';
/** Largest chunk an index may name (layerfs chunks are 64 KiB; anything far larger is a lie). */
const MAX_CHUNK = 16 * 1024 * 1024;

/** One chunk of a layer's tar: its digest, its offset in the tar, its length. */
export type ChunkSpan = [digest: Digest, offset: number, length: number];

export interface LazyLayer {
  /** The tar blob in the registry. */
  blob: OciDigest;
  size: number;
  /** layerfs's encoding of the layer (base64): its blob is the layer id. */
  layer: string;
  chunks: ChunkSpan[];
}

export interface LazyIndex {
  schema: typeof LAZY_SCHEMA;
  layers: LazyLayer[];
  /**
   * Files a program start reads (eStargz's prioritized files, recorded by a run of the
   * workload): `pull --lazy` fetches them along with the trees, several requests at once.
   */
  prefetch?: string[];
}

/** The tag of the index artifact of an image manifest. */
export function lazyTag(manifestDigest: OciDigest): string {
  return `${manifestDigest.replace(':', '-')}.layerfs`;
}

/**
 * Parses an index and checks it against the image manifest: one entry per layer, the same blob
 * digests and sizes, every chunk inside its layer's tar. A chunk pointing outside its layer is
 * EFORMAT naming the layer: the pull is refused before anything is stored.
 */
export function parseLazyIndex(bytes: Uint8Array, layers: readonly Descriptor[], what: string): LazyIndex {
  let json: LazyIndex;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as LazyIndex;
  } catch (error) {
    throw new RegistryError('EPROTOCOL', `${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const bad = (why: string) => new RegistryError('EPROTOCOL', `${what}: ${why}`);
  if (json?.schema !== LAZY_SCHEMA || !Array.isArray(json.layers)) throw bad(`not a ${LAZY_SCHEMA} index`);
  if (json.prefetch !== undefined && (!Array.isArray(json.prefetch) || !json.prefetch.every((file) => typeof file === 'string' && file.startsWith('/')))) {
    throw bad('its prefetch list is not a list of absolute paths');
  }
  if (json.layers.length !== layers.length) throw bad(`it lists ${json.layers.length} layers, the image has ${layers.length}`);
  json.layers.forEach((entry, i) => {
    const layer = layers[i]!;
    const name = `layer ${i + 1} (${layer.digest})`;
    if (entry?.blob !== layer.digest || !isOciDigest(entry.blob) || entry.size !== layer.size) throw bad(`${name} is not the layer the image names`);
    if (typeof entry.layer !== 'string' || !Array.isArray(entry.chunks)) throw bad(`${name} has no tree or no chunk table`);
    for (const span of entry.chunks) {
      const [digest, offset, length] = Array.isArray(span) ? span : [];
      if (typeof digest !== 'string' || !isDigest(digest) || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset! < 0 || length! <= 0 || length! > MAX_CHUNK) {
        throw bad(`${name} has a malformed chunk entry ${JSON.stringify(span)}`);
      }
      if (offset! + length! > layer.size) throw bad(`${name}: chunk ${digest} at bytes ${offset}-${offset! + length! - 1} points outside its layer of ${layer.size} bytes`);
    }
  });
  return json;
}

/**
 * A store that notes, for each blob read, where the reader stands in its output: layerTar reads
 * each chunk just as it writes it, so `at()` is the chunk's offset in the tar. Only `get` is
 * recorded; everything else is the inner store's.
 */
export class ChunkRecorder extends WrappedStore {
  readonly spans = new Map<Digest, ChunkSpan>();

  constructor(
    inner: BlobStore,
    private readonly at: () => number,
  ) {
    super(inner);
  }

  override get(digest: Digest): Uint8Array {
    const bytes = this.inner.get(digest);
    if (!this.spans.has(digest)) this.spans.set(digest, [digest, this.at(), bytes.length]);
    return bytes;
  }
}
