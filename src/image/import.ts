import * as fs from 'node:fs';
import type { Layer } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import { ArchiveFiles } from './archive-files.js';
import { gunzip, limitSize, peek, sniffCompression } from './compression.js';
import { ImageError } from './errors.js';
import { inheritLowerMeta } from './lower-meta.js';
import { DirFiles, type ImageFiles, imagePath } from './image-files.js';
import { type LayerBlob, type LayerImportOptions, importLayer } from './layer-import.js';
import type { ImageConfig } from './oci-json.js';
import { type ResolvedImage, type SelectOptions, resolveDocker, resolveOci } from './resolve.js';
import { TarError, readTar } from './tar.js';

export type ImageFormat = 'oci' | 'docker' | 'layer';

export interface ImageImportOptions extends Omit<LayerImportOptions, 'name'>, SelectOptions {
  /** What the input is; 'auto' (the default) tells from its contents. */
  format?: ImageFormat | 'auto';
  /** Largest uncompressed image archive, in bytes (default 1 TiB); each layer has `maxSize`. */
  maxArchiveSize?: number;
}

export interface ImportedImage {
  format: ImageFormat;
  /** Bottom first: the stack to tag as an image. */
  layers: Layer[];
  /** Each layer's digest and diff id, as verified. */
  blobs: ImportedBlob[];
  /** The image config (absent for a single layer tarball). */
  config: ImageConfig | undefined;
  /** Names the image carries (docker RepoTags, OCI reference names). */
  tags: string[];
}

export type ImportedBlob = Omit<LayerBlob, 'layer' | 'implicitDirs'>;

const DEFAULT_MAX_ARCHIVE = 2 ** 40;

/**
 * Imports an image: a folder or tar of an OCI image layout, a `docker save` tarball (plain or
 * gzip), or a single layer tarball. Every layer's digest and diff id is checked against the
 * manifest and config; a mismatch is an EDIGEST ImageError naming the layer.
 *
 * Atomic: layers and their chunks are content-addressed blobs that nothing references until the
 * caller tags the returned layers (Engine.tag), so a failed or interrupted import (`signal`)
 * leaves no image, only unreferenced blobs that `gc` reclaims. Nothing is written anywhere but
 * the store.
 */
export async function importImage(store: BlobStore, input: string | Uint8Array, options: ImageImportOptions = {}): Promise<ImportedImage> {
  const format = options.format ?? 'auto';
  const name = typeof input === 'string' ? input : 'archive';
  if (typeof input === 'string' && fs.statSync(input).isDirectory()) {
    if (format === 'layer') throw new ImageError('EUNSUPPORTED', `${input} is a folder; a layer is a tarball (import a folder as a plain directory instead)`);
    const files = new DirFiles(store, input);
    return importResolved(store, files, await resolveFolder(files, format, options), options);
  }
  const open = () => decompressed(typeof input === 'string' ? fs.createReadStream(input, { highWaterMark: 1024 * 1024 }) : [input], name, options);
  const kind = format === 'auto' ? await archiveKind(open(), name) : format;
  if (kind === 'layer') {
    try {
      const { layer, implicitDirs: _, ...blob } = await importLayer(store, typeof input === 'string' ? fs.createReadStream(input, { highWaterMark: 1024 * 1024 }) : input, { ...options, name });
      return { format: 'layer', layers: [layer], blobs: [blob], config: undefined, tags: [] };
    } catch (error) {
      if (error instanceof TarError) throw new ImageError('EFORMAT', `${name}: ${error.message}`, { cause: error });
      throw error;
    }
  }
  const files = await ArchiveFiles.scan(store, open(), name, options);
  return importResolved(store, files, kind === 'oci' ? await resolveOci(files, options) : await resolveDocker(files, options), options);
}

async function resolveFolder(files: DirFiles, format: ImageFormat | 'auto', options: SelectOptions): Promise<ResolvedImage> {
  if (format === 'oci') return resolveOci(files, options);
  if (format === 'docker') return resolveDocker(files, options);
  if (await files.read('oci-layout', 4096)) return resolveOci(files, options);
  if (await files.read('manifest.json', 4 * 1024 * 1024)) return resolveDocker(files, options);
  throw new ImageError('EFORMAT', `${files.name} is neither an OCI image layout (oci-layout, index.json) nor an extracted docker save (manifest.json)`);
}

/**
 * Imports the layers an image names, in order, checking each digest and diff id. Any ImageFiles
 * will do: a folder, an archive, or a registry (src/registry fetches into the same path).
 */
export async function importResolved(store: BlobStore, files: ImageFiles, image: ResolvedImage, options: ImageImportOptions): Promise<ImportedImage> {
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.layers.length) {
    throw new ImageError('EFORMAT', `${files.name}: the config lists ${diffIds.length} diff ids for ${image.layers.length} layers`);
  }
  const layers: Layer[] = [];
  const blobs: ImportedBlob[] = [];
  for (const [i, ref] of image.layers.entries()) {
    const what = `layer ${i + 1} of ${image.layers.length} (${ref.digest ?? ref.file})`;
    let imported: LayerBlob;
    try {
      imported = await files.layer(ref.file, { ...options, name: what });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (error instanceof ImageError) throw new ImageError(error.code, `${files.name}: ${error.message.startsWith(what) ? error.message : `${what}: ${error.message}`}`, { cause: error });
      if (error instanceof TarError) throw new ImageError('EFORMAT', `${files.name}: ${what}: ${error.message}`, { cause: error });
      throw error;
    }
    const { layer, implicitDirs, ...blob } = imported;
    if (ref.digest !== undefined && blob.digest !== ref.digest) {
      throw new ImageError('EDIGEST', `${files.name}: ${what} has digest ${blob.digest}, not the ${ref.digest} the manifest states`);
    }
    if (ref.size !== undefined && blob.size !== ref.size) throw new ImageError('EDIGEST', `${files.name}: ${what} has ${blob.size} bytes, not the ${ref.size} the manifest states`);
    if (blob.diffId !== diffIds[i]) throw new ImageError('EDIGEST', `${files.name}: ${what} has diff id ${blob.diffId}, not the ${diffIds[i]} the config states`);
    // Layers of an archive may be imported before their place is known: lower metadata comes now.
    layers.push(inheritLowerMeta(store, layer, implicitDirs, layers));
    blobs.push(blob);
  }
  return { format: image.format, layers, blobs, config: image.config, tags: image.tags };
}

/** The bytes of an archive file, gunzipped when they are gzip (docker load takes `docker save | gzip`). */
async function* decompressed(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, name: string, options: ImageImportOptions): AsyncGenerator<Uint8Array> {
  const max = options.maxArchiveSize ?? DEFAULT_MAX_ARCHIVE;
  const [head, all] = await peek(counted(source, options.signal), 6);
  const compression = sniffCompression(head);
  if (compression === 'gzip') yield* gunzip(all, max, name);
  else if (compression === 'none') yield* limitSize(all, max, name);
  else throw new ImageError('EUNSUPPORTED', `${name} is ${compression}-compressed; layerfs reads plain and gzip archives`);
}

async function* counted(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}

/** Names an image archive has at its top, and nothing else (docker save, OCI layout, docker 25's both). */
const IMAGE_MEMBER = /^(oci-layout|index\.json|manifest\.json|repositories|blobs|blobs\/(sha256|sha512)(\/[a-f0-9]+)?|[a-f0-9]{64}(\.json|\.tar)?|[a-f0-9]{64}\/(layer\.tar|json|VERSION))$/;

/**
 * Whether an archive is an image (and which kind) or a layer: an image archive holds only the
 * names above, so the first other name says "layer" (reading stops there); an image needs its
 * index (oci-layout and index.json) or manifest.json.
 */
export async function archiveKind(source: AsyncIterable<Uint8Array>, name: string): Promise<ImageFormat> {
  const seen = new Set<string>();
  try {
    for await (const { header } of readTar(source)) {
      let member: string;
      try {
        member = imagePath(header.path);
      } catch {
        return 'layer';
      }
      if (member === '') continue;
      if (!IMAGE_MEMBER.test(member)) return 'layer';
      seen.add(member);
    }
  } catch (error) {
    // A layer's own errors are reported by the layer import, with its rules and messages.
    if (error instanceof TarError) return 'layer';
    throw error;
  }
  if (seen.has('oci-layout') && seen.has('index.json')) return 'oci';
  if (seen.has('manifest.json')) return 'docker';
  if (seen.size === 0) throw new ImageError('EFORMAT', `${name} is an empty archive`);
  return 'layer';
}
