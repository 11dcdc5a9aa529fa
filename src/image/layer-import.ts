import type { Layer } from '../layer/index.js';
import { layerFromTar } from './layer-from-tar.js';
import type { BlobStore } from '../store/index.js';
import { type Compression, gunzip, limitSize, peek, sniffCompression } from './compression.js';
import { type OciDigest, Tally } from './digest.js';
import { ImageError } from './errors.js';
import { type InflatedDigests, inflateLayer } from './layer-inflate.js';
import { inheritLowerMeta } from './lower-meta.js';
import type { TarSource } from './tar.js';
import { ociMemberRole } from './whiteout.js';

/** Uncompressed bytes a layer may have unless told otherwise: far beyond real images, far below a bomb's reach. */
export const DEFAULT_MAX_LAYER_SIZE = 64 * 2 ** 30;

export interface LayerImportOptions {
  /** Largest uncompressed tar accepted, in bytes (default 64 GiB). */
  maxSize?: number;
  chunkSize?: number;
  /** Largest PAX or GNU long-name header (see readTar). */
  maxExtensionSize?: number;
  /** Stops the import with the signal's reason; what was stored is unreferenced garbage. */
  signal?: AbortSignal;
  onEntry?: (path: string, bytes: number) => void;
  /** What the layer is called in errors (default "layer"). */
  name?: string;
  /**
   * The blob's size when known: one of INFLATE_IN_WORKER bytes or more is hashed and inflated on
   * a worker thread while this one parses the tar and stores its files (layer-inflate.ts).
   */
  size?: number;
  /**
   * The layers it goes on (bottom first): directories the tarball leaves out (parents of its
   * members, the root) take their metadata from there, as extraction onto them would.
   */
  below?: readonly Layer[];
}

/** A layer imported from an OCI or Docker layer tarball, with the digests that name it. */
export interface LayerBlob {
  layer: Layer;
  /** sha256 of the bytes as given (the compressed blob): the manifest's layer digest. */
  digest: OciDigest;
  /** sha256 of the uncompressed tar: the config's diff id. */
  diffId: OciDigest;
  /** Bytes as given. */
  size: number;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  compression: 'gzip' | 'none';
  /** Directories no member gave metadata for (see inheritLowerMeta). */
  implicitDirs: string[];
}

const SUPPORTED: ReadonlySet<Compression> = new Set(['gzip', 'none']);

/**
 * Imports one OCI/Docker layer tarball, uncompressed or gzip (sniffed from the bytes), streaming:
 * whiteout names become whiteouts and opaque directories, every tar rule of layerFromTar holds
 * (no `..`, no writing through a symlink, PATH_MAX, UTF-8 names). The blob digest and diff id are
 * computed on the way, over every byte, the padding after the tar's end included.
 */
export async function importLayer(store: BlobStore, source: TarSource, options: LayerImportOptions = {}): Promise<LayerBlob> {
  const what = options.name ?? 'layer';
  const maxSize = options.maxSize ?? DEFAULT_MAX_LAYER_SIZE;
  if ((options.size ?? 0) >= INFLATE_IN_WORKER) {
    const { tar, digests } = inflateLayer(chunks(source), { maxSize, what, ...(options.signal ? { signal: options.signal } : {}) });
    return importTar(store, tar, () => digests, options);
  }
  const raw = new Tally();
  const bytes = raw.through(chunks(source), options.signal);
  try {
    const [head, all] = await peek(bytes, 6);
    const compression = sniffCompression(head);
    if (!SUPPORTED.has(compression)) throw new ImageError('EUNSUPPORTED', `${what} is ${compression}-compressed; layerfs reads uncompressed and gzip layers`);
    const tally = new Tally();
    const tar = tally.through(compression === 'gzip' ? gunzip(all, maxSize, what) : limitSize(all, maxSize, what));
    const digests = async (): Promise<InflatedDigests> => ({ digest: raw.digest(), diffId: tally.digest(), size: raw.bytes, tarSize: tally.bytes, compression: compression === 'gzip' ? 'gzip' : 'none' });
    return await importTar(store, tar, digests, options);
  } finally {
    // Closes the source (a file stream) whichever way the import ended.
    await bytes.return(undefined);
  }
}

/** Blobs from this size on are inflated and hashed on a worker (its start-up costs ~30 ms). */
const INFLATE_IN_WORKER = 8 * 1024 * 1024;

/** The layer of the tar `tar` yields, with the blob's digests once every byte passed. */
async function importTar(store: BlobStore, tar: AsyncGenerator<Uint8Array>, digests: () => Promise<InflatedDigests>, options: LayerImportOptions): Promise<LayerBlob> {
  // readTar closes its source when the archive ends; the padding after the end must still be
  // hashed into the diff id, so it gets a source it cannot close and the rest is drained here.
  const unclosable: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => tar.next() }) };
  let implicitDirs: string[] = [];
  try {
    const built = await layerFromTar(store, unclosable, {
      chunkSize: options.chunkSize,
      maxExtensionSize: options.maxExtensionSize,
      signal: options.signal,
      onEntry: options.onEntry,
      roleOf: ociMemberRole,
      onImplicitDirs: (paths) => (implicitDirs = paths),
    });
    while (!(await tar.next()).done);
    const layer = inheritLowerMeta(store, built, implicitDirs, options.below ?? []);
    return { layer, ...(await digests()), implicitDirs };
  } finally {
    await tar.return(undefined);
  }
}

async function* chunks(source: TarSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) yield source;
  else yield* source;
}
