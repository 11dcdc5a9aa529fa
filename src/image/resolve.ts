import { type OciDigest, Tally, blobPath, digestOfPath } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageFiles } from './image-files.js';
import {
  type Descriptor,
  type ImageConfig,
  type Platform,
  REF_NAME,
  isIndexType,
  isManifestType,
  isTarLayerType,
  parseConfig,
  parseDockerManifest,
  parseIndex,
  parseJson,
  parseManifest,
} from './oci-json.js';

/** What an image says its layers are, before any layer is imported. */
export interface ResolvedImage {
  format: 'oci' | 'docker';
  config: ImageConfig;
  layers: LayerRef[];
  tags: string[];
}

export interface LayerRef {
  /** The file holding the layer tarball. */
  file: string;
  /** The digest and size of that file, when the image states them (OCI blobs). */
  digest?: OciDigest;
  size?: number;
}

export interface SelectOptions {
  /** Which image of several: a tag or reference name (`latest`, `alpine:3.19`). */
  ref?: string;
  /** Which platform of a multi-platform index (default: the host's, linux). */
  platform?: Partial<Platform>;
}

const MAX_JSON = 4 * 1024 * 1024;
const MAX_NESTING = 4;

/** Reads a blob named by a descriptor, checking its size and digest. */
async function readBlob(files: ImageFiles, descriptor: Descriptor, what: string): Promise<Uint8Array> {
  if (descriptor.size > MAX_JSON) throw new ImageError('ELIMIT', `${what} ${descriptor.digest} claims ${descriptor.size} bytes, more than the ${MAX_JSON} allowed for JSON`);
  const bytes = await files.read(blobPath(descriptor.digest), MAX_JSON);
  if (!bytes) throw new ImageError('ENOENT', `${files.name}: ${what} ${descriptor.digest} is missing (no ${blobPath(descriptor.digest)})`);
  checkBytes(bytes, descriptor.digest, descriptor.size, `${what} ${blobPath(descriptor.digest)}`);
  return bytes;
}

function checkBytes(bytes: Uint8Array, digest: OciDigest, size: number | undefined, what: string): void {
  if (size !== undefined && bytes.length !== size) throw new ImageError('EDIGEST', `${what} has ${bytes.length} bytes, but ${size} were stated`);
  const tally = new Tally(digest);
  tally.add(bytes);
  const actual = tally.digest();
  if (actual !== digest) throw new ImageError('EDIGEST', `${what} has digest ${actual}, not ${digest}`);
}

/** An OCI image layout: oci-layout, index.json, and the manifest and config they lead to. */
export async function resolveOci(files: ImageFiles, options: SelectOptions): Promise<ResolvedImage> {
  const layoutBytes = await files.read('oci-layout', 4096);
  if (!layoutBytes) throw new ImageError('ENOENT', `${files.name} is not an OCI image layout (no oci-layout file)`);
  const layout = parseJson(layoutBytes, 'oci-layout') as { imageLayoutVersion?: unknown };
  if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new ImageError('EUNSUPPORTED', `${files.name}: oci-layout has imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}; layerfs reads 1.x`);
  }
  const indexBytes = await files.read('index.json', MAX_JSON);
  if (!indexBytes) throw new ImageError('ENOENT', `${files.name} is not an OCI image layout (no index.json)`);
  let candidates = parseIndex(indexBytes, 'index.json').manifests;
  const top = choose(candidates, options, true, files.name);
  let chosen = top;
  for (let depth = 0; isIndexType(chosen.mediaType); depth++) {
    if (depth === MAX_NESTING) throw new ImageError('EFORMAT', `${files.name}: image indexes nested more than ${MAX_NESTING} deep`);
    candidates = parseIndex(await readBlob(files, chosen, 'image index'), `image index ${chosen.digest}`).manifests;
    chosen = choose(candidates, options, false, files.name);
  }
  if (!isManifestType(chosen.mediaType)) throw new ImageError('EUNSUPPORTED', `${files.name}: ${chosen.digest} is a ${chosen.mediaType}, not an image manifest`);
  const manifest = parseManifest(await readBlob(files, chosen, 'manifest'), `manifest ${chosen.digest}`);
  const config = parseConfig(await readBlob(files, manifest.config, 'config'), `config ${manifest.config.digest}`);
  const layers = manifest.layers.map((layer, i): LayerRef => {
    const what = `layer ${i + 1} of ${manifest.layers.length} (${layer.digest})`;
    if (layer.urls?.length || layer.mediaType.includes('foreign') || layer.mediaType.includes('nondistributable')) {
      throw new ImageError('EUNSUPPORTED', `${files.name}: ${what} is a foreign layer (${layer.mediaType}) whose data is not in the image`);
    }
    if (!isTarLayerType(layer.mediaType)) throw new ImageError('EUNSUPPORTED', `${files.name}: ${what} has media type ${layer.mediaType}; layerfs reads tar and tar+gzip layers`);
    return { file: blobPath(layer.digest), digest: layer.digest, size: layer.size };
  });
  const tags = [top.annotations?.['io.containerd.image.name'], top.annotations?.[REF_NAME]].filter((tag): tag is string => tag !== undefined);
  return { format: 'oci', config, layers, tags };
}

/** A `docker save` archive: manifest.json, a config and layer tars (old layout or docker 25's blobs/). */
export async function resolveDocker(files: ImageFiles, options: SelectOptions): Promise<ResolvedImage> {
  const bytes = await files.read('manifest.json', MAX_JSON);
  if (!bytes) throw new ImageError('ENOENT', `${files.name} is not a docker save archive (no manifest.json)`);
  const images = parseDockerManifest(bytes, 'manifest.json');
  const matching = options.ref === undefined ? images : images.filter((image) => image.RepoTags.some((tag) => refMatches(tag, options.ref!)));
  const image = matching[0];
  if (matching.length !== 1 || !image) {
    const all = images.map((entry) => entry.RepoTags.join(', ') || '<untagged>').join('; ');
    if (matching.length === 0) throw new ImageError('ENOENT', `${files.name}: no image${options.ref ? ` tagged ${options.ref}` : ''} in manifest.json (it has: ${all || 'none'})`);
    throw new ImageError('EAMBIGUOUS', `${files.name} holds ${images.length} images (${all}); say which with a tag`);
  }
  const configBytes = await files.read(image.Config, MAX_JSON);
  if (!configBytes) throw new ImageError('ENOENT', `${files.name}: config ${image.Config} is missing`);
  const named = digestOfPath(image.Config) ?? legacyDigest(image.Config);
  if (named) checkBytes(configBytes, named, undefined, `config ${image.Config}`);
  const config = parseConfig(configBytes, `config ${image.Config}`);
  const layers = image.Layers.map((file): LayerRef => {
    const digest = digestOfPath(file);
    return digest ? { file, digest } : { file };
  });
  return { format: 'docker', config, layers, tags: image.RepoTags };
}

/** Old docker save names the config `<sha256 hex>.json`. */
function legacyDigest(file: string): OciDigest | undefined {
  const match = /^([a-f0-9]{64})\.json$/.exec(file);
  return match ? `sha256:${match[1]}` : undefined;
}

function refMatches(name: string, ref: string): boolean {
  return name === ref || name.endsWith(`/${ref}`) || name.endsWith(`:${ref}`) || name === `${ref}:latest` || name.endsWith(`/${ref}:latest`);
}

/** The host's platform in OCI terms (Node's process.arch names differ). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/** One descriptor of an index: by reference name, then by platform; else an error listing them. */
function choose(manifests: readonly Descriptor[], options: SelectOptions, top: boolean, name: string): Descriptor {
  let left = manifests.filter((entry) => isIndexType(entry.mediaType) || isManifestType(entry.mediaType));
  if (top && options.ref !== undefined) {
    left = left.filter((entry) => [entry.annotations?.[REF_NAME], entry.annotations?.['io.containerd.image.name']].some((tag) => tag !== undefined && refMatches(tag, options.ref!)));
  }
  if (left.length > 1) {
    // Attestations and signatures ride along as manifests of platform unknown/unknown.
    const wanted = { ...hostPlatform(), ...options.platform };
    const fits = left.filter((entry) => !entry.platform || (entry.platform.os === wanted.os && entry.platform.architecture === wanted.architecture));
    const exact = fits.filter((entry) => wanted.variant === undefined || entry.platform?.variant === wanted.variant);
    left = exact.length > 0 ? exact : fits;
  }
  const only = left[0];
  if (left.length === 1 && only) return only;
  const listed = manifests.map((entry) => describe(entry)).join('; ');
  if (left.length === 0) throw new ImageError('ENOENT', `${name}: no image${options.ref ? ` named ${options.ref}` : ''} for this platform in the index (it has: ${listed || 'nothing'})`);
  throw new ImageError('EAMBIGUOUS', `${name}: the index has several images (${listed}); say which with a reference name or platform`);
}

function describe(entry: Descriptor): string {
  const ref = entry.annotations?.[REF_NAME];
  const platform = entry.platform ? `${entry.platform.os}/${entry.platform.architecture}${entry.platform.variant ? `/${entry.platform.variant}` : ''}` : undefined;
  return [ref, platform, entry.digest.slice(0, 19)].filter(Boolean).join(' ');
}

