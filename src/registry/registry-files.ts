import * as fs from 'node:fs';
import * as path from 'node:path';
import { type OciDigest, digestOfPath } from '../image/digest.js';
import { ImageError } from '../image/errors.js';
import type { ImageFiles } from '../image/image-files.js';
import { type LayerBlob, type LayerImportOptions, importLayer } from '../image/layer-import.js';
import { MEDIA } from '../image/oci-json.js';
import { Layer } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import type { BlobCache } from './blob-cache.js';
import type { FetchedManifest, RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

export interface LayerEvent {
  digest: OciDigest;
  /** Bytes of the blob. */
  size: number;
  /** Bytes had so far (from a partial download too). */
  done: number;
  state: 'waiting' | 'fetching' | 'done' | 'cached';
}

/** Bytes of a layer's download copy that may wait for the disk while the import goes on. */
const SAVE_AHEAD = 16 * 1024 * 1024;

/**
 * A repository of a registry seen as the files of an OCI image layout, so that a pull is the
 * import path every other image takes (resolveOci picks the manifest for the host's platform
 * from an index; importResolved checks every digest and diff id): `oci-layout` and `index.json`
 * are made up around the manifest fetched by tag, `blobs/sha256/<hex>` are manifests or blobs
 * fetched by digest.
 *
 * Layers stream from the registry straight into the import, and at the same time into
 * `<store>/registry/downloads/<hex>`: a pull killed midway resumes each layer where its file
 * stops (a Range request for the rest). A layer imported before (BlobCache) is not fetched again.
 */
export class RegistryFiles implements ImageFiles {
  readonly name: string;
  private readonly manifests = new Map<OciDigest, Uint8Array>();
  private readonly manifestDigests = new Set<OciDigest>();
  private readonly layers = new Map<OciDigest, Promise<LayerBlob>>();
  private readonly sizes = new Map<OciDigest, number>();
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly top: FetchedManifest,
    private readonly store: BlobStore,
    private readonly cache: BlobCache,
    private readonly downloads: string,
    private readonly options: { concurrency: number; onLayer?: (event: LayerEvent) => void; signal: AbortSignal },
  ) {
    this.name = `${client.registry}/${repository}`;
    this.manifests.set(top.digest, top.bytes);
    this.noteChildren(top.bytes);
  }

  async read(file: string, max: number): Promise<Uint8Array | undefined> {
    if (file === 'oci-layout') return Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (file === 'index.json') {
      const mediaType = this.top.mediaType || mediaTypeOf(this.top.bytes) || MEDIA.ociManifest;
      return Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType, digest: this.top.digest, size: this.top.bytes.length }] }));
    }
    const digest = digestOfPath(file);
    if (!digest) return undefined;
    const known = this.manifests.get(digest);
    if (known) return known;
    if (this.manifestDigests.has(digest)) {
      // A manifest an index names lives under /manifests/, not /blobs/ (checked by its digest there).
      const fetched = await this.client.getManifest(this.repository, digest);
      this.noteChildren(fetched.bytes);
      return fetched.bytes;
    }
    return this.client.getBlob(this.repository, digest, undefined, max);
  }

  /** Starts fetching layers (at most `concurrency` at once) before the import asks for them in order. */
  prefetch(refs: readonly { file: string; size?: number }[]): void {
    for (const ref of refs) {
      const digest = digestOfPath(ref.file);
      if (digest && ref.size !== undefined) this.sizes.set(digest, ref.size);
      // Errors surface when the import asks for the layer; not as unhandled rejections here.
      this.layer(ref.file, {}).catch(() => {});
    }
  }

  layer(file: string, options: LayerImportOptions): Promise<LayerBlob> {
    const digest = digestOfPath(file);
    if (!digest) return Promise.reject(new ImageError('EFORMAT', `${this.name}: ${file} is not a blob path`));
    let known = this.layers.get(digest);
    if (!known) {
      known = this.cached(digest) ?? this.slot(() => this.fetch(digest, options));
      this.layers.set(digest, known);
    }
    return known;
  }

  /** A layer imported by an earlier pull, if the store still has it. */
  private cached(digest: OciDigest): Promise<LayerBlob> | undefined {
    const blob = this.cache.get(digest);
    if (!blob?.imported || !this.store.has(blob.imported.layer)) return undefined;
    let layer: Layer;
    try {
      layer = Layer.load(this.store, blob.imported.layer);
    } catch {
      return undefined;
    }
    this.options.onLayer?.({ digest, size: blob.size, done: blob.size, state: 'cached' });
    const { tarSize, compression, implicitDirs } = blob.imported;
    return Promise.resolve({ layer, digest, diffId: blob.diffId, size: blob.size, tarSize, compression, implicitDirs });
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.concurrency) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  private async fetch(digest: OciDigest, options: LayerImportOptions): Promise<LayerBlob> {
    this.options.signal.throwIfAborted();
    const size = this.sizes.get(digest);
    const partial = path.join(this.downloads, digest.replace(':', '-'));
    fs.mkdirSync(this.downloads, { recursive: true });
    let have = fileSize(partial);
    if (size !== undefined && have > size) {
      fs.rmSync(partial, { force: true });
      have = 0;
    }
    const report = (done: number, state: LayerEvent['state']) => this.options.onLayer?.({ digest, size: size ?? 0, done, state });
    report(have, 'fetching');
    let imported: LayerBlob;
    try {
      imported = await importLayer(this.store, this.saved(partial, have, digest, (done) => report(done, 'fetching')), { ...options, signal: this.options.signal, ...(size !== undefined ? { size } : {}) });
    } catch (error) {
      // A broken connection keeps what was saved for the next pull; bad bytes are thrown away.
      if (!(error instanceof RegistryError && error.code === 'ENETWORK') && !this.options.signal.aborted) fs.rmSync(partial, { force: true });
      throw error;
    }
    fs.rmSync(partial, { force: true });
    if (imported.digest !== digest || (size !== undefined && imported.size !== size)) {
      throw new RegistryError('EDIGEST', `${this.name}: blob ${digest} arrived as ${imported.size} bytes with digest ${imported.digest}${size !== undefined ? ` (the manifest states ${size} bytes)` : ''}: the registry sent other bytes than the digest names`);
    }
    const { layer, implicitDirs, ...rest } = imported;
    const mediaType = rest.compression === 'gzip' ? MEDIA.ociLayerGzip : MEDIA.ociLayer;
    this.cache.note({ digest, size: rest.size, mediaType, diffId: rest.diffId, imported: { layer: layer.id, tarSize: rest.tarSize, compression: rest.compression, implicitDirs }, repos: [this.name] });
    report(rest.size, 'done');
    return imported;
  }

  /** The bytes saved by an earlier attempt, then the rest from the registry, saved as they pass. */
  private async *saved(partial: string, have: number, digest: OciDigest, progress: (done: number) => void): AsyncGenerator<Uint8Array> {
    let done = 0;
    if (have > 0) {
      for await (const chunk of fs.createReadStream(partial, { end: have - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        done += chunk.length;
        yield chunk;
      }
    }
    const out = await fs.promises.open(partial, 'a');
    // The copy is written behind the import, in order, rather than awaited chunk by chunk (which
    // held every chunk back for a disk write); at most SAVE_AHEAD bytes wait for the disk.
    let saving = Promise.resolve();
    let unsaved = 0;
    try {
      for await (const chunk of this.client.blobStream(this.repository, digest, have)) {
        unsaved += chunk.length;
        saving = saving.then(async () => {
          await out.write(chunk);
          unsaved -= chunk.length;
        });
        if (unsaved > SAVE_AHEAD) await saving;
        done += chunk.length;
        progress(done);
        yield chunk;
      }
      await saving;
    } finally {
      // On the way out after an error: what reached the disk stays for the next pull.
      await saving.catch(() => {});
      await out.close();
    }
  }

  /** Remembers which digests an index names: they are fetched as manifests. */
  private noteChildren(bytes: Uint8Array): void {
    try {
      const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string; manifests?: { digest?: unknown }[] };
      if (!Array.isArray(json.manifests)) return;
      for (const entry of json.manifests) if (typeof entry?.digest === 'string') this.manifestDigests.add(entry.digest as OciDigest);
    } catch {
      // Not JSON: resolveOci says so with its own message.
    }
  }
}

function mediaTypeOf(bytes: Uint8Array): string | undefined {
  try {
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof json.mediaType === 'string') return json.mediaType;
    return Array.isArray(json.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
  } catch {
    return undefined;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
