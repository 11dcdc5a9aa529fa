import { type OciDigest, parseOciDigest } from './digest.js';
import { ImageError } from './errors.js';

/**
 * The JSON documents of OCI image-spec v1 (index, manifest, config) and of `docker save`
 * (manifest.json), parsed defensively: they come from strangers, so every field layerfs uses is
 * checked for its type before use, and digests before they become paths. Fields layerfs does not
 * use are kept as they were (a config's `config`, `history`), so an export can carry them on.
 */
export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Layer media types whose bytes are a tar, plain or gzip (the bytes are sniffed anyway). */
const TAR_LAYERS: ReadonlySet<string> = new Set([
  MEDIA.ociLayer,
  MEDIA.ociLayerGzip,
  MEDIA.dockerLayer,
  'application/vnd.docker.image.rootfs.diff.tar',
]);

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: OciDigest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image config; unknown fields are kept. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: OciDigest[] };
  history?: History[];
  [key: string]: unknown;
}

/** One image of a `docker save` manifest.json. */
export interface DockerImage {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest;
}

export function isTarLayerType(mediaType: string): boolean {
  return TAR_LAYERS.has(mediaType);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON text of a file the image names, or EFORMAT saying which file. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw new ImageError('EFORMAT', `${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ImageError('EFORMAT', `${what} is not a JSON object`);
  return value as Json;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ImageError('EFORMAT', `${what} is not a JSON array`);
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ImageError('EFORMAT', `${what} is not a string`);
  return value;
}

function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined ? undefined : string(value, what);
}

function strings(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const map = object(value, what);
  for (const [key, entry] of Object.entries(map)) string(entry, `${what}.${key}`);
  return map as Record<string, string>;
}

function schemaVersion(json: Json, what: string): 2 {
  if (json.schemaVersion !== 2) throw new ImageError('EUNSUPPORTED', `${what} has schemaVersion ${JSON.stringify(json.schemaVersion)}; layerfs reads version 2`);
  return 2;
}

export function parseDescriptor(value: unknown, what: string): Descriptor {
  const json = object(value, what);
  const size = json.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ImageError('EFORMAT', `${what}.size is not a byte count`);
  const descriptor: Descriptor = { mediaType: string(json.mediaType, `${what}.mediaType`), digest: parseOciDigest(json.digest, `${what}.digest`), size };
  const annotations = strings(json.annotations, `${what}.annotations`);
  if (annotations) descriptor.annotations = annotations;
  if (json.platform !== undefined) {
    const platform = object(json.platform, `${what}.platform`);
    descriptor.platform = { architecture: string(platform.architecture, `${what}.platform.architecture`), os: string(platform.os, `${what}.platform.os`) };
    const variant = optionalString(platform.variant, `${what}.platform.variant`);
    if (variant !== undefined) descriptor.platform.variant = variant;
  }
  if (json.urls !== undefined) descriptor.urls = array(json.urls, `${what}.urls`).map((url, i) => string(url, `${what}.urls[${i}]`));
  return descriptor;
}

export function parseIndex(bytes: Uint8Array, what: string): ImageIndex {
  const json = object(parseJson(bytes, what), what);
  const index: ImageIndex = {
    schemaVersion: schemaVersion(json, what),
    manifests: array(json.manifests, `${what}.manifests`).map((entry, i) => parseDescriptor(entry, `${what}.manifests[${i}]`)),
  };
  const mediaType = optionalString(json.mediaType, `${what}.mediaType`);
  if (mediaType !== undefined) index.mediaType = mediaType;
  const annotations = strings(json.annotations, `${what}.annotations`);
  if (annotations) index.annotations = annotations;
  return index;
}

export function parseManifest(bytes: Uint8Array, what: string): ImageManifest {
  const json = object(parseJson(bytes, what), what);
  const manifest: ImageManifest = {
    schemaVersion: schemaVersion(json, what),
    config: parseDescriptor(json.config, `${what}.config`),
    layers: array(json.layers, `${what}.layers`).map((entry, i) => parseDescriptor(entry, `${what}.layers[${i}]`)),
  };
  const mediaType = optionalString(json.mediaType, `${what}.mediaType`);
  if (mediaType !== undefined) manifest.mediaType = mediaType;
  const annotations = strings(json.annotations, `${what}.annotations`);
  if (annotations) manifest.annotations = annotations;
  return manifest;
}

export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  const json = object(parseJson(bytes, what), what);
  const rootfs = object(json.rootfs, `${what}.rootfs`);
  if (rootfs.type !== 'layers') throw new ImageError('EFORMAT', `${what}.rootfs.type is ${JSON.stringify(rootfs.type)}, not "layers"`);
  const diffIds = array(rootfs.diff_ids, `${what}.rootfs.diff_ids`).map((id, i) => parseOciDigest(id, `${what}.rootfs.diff_ids[${i}]`));
  if (json.history !== undefined && json.history !== null) {
    array(json.history, `${what}.history`).forEach((entry, i) => object(entry, `${what}.history[${i}]`));
  }
  if (json.config !== undefined && json.config !== null) object(json.config, `${what}.config`);
  return {
    ...json,
    architecture: string(json.architecture, `${what}.architecture`),
    os: string(json.os, `${what}.os`),
    rootfs: { type: 'layers', diff_ids: diffIds },
  } as ImageConfig;
}

export function parseDockerManifest(bytes: Uint8Array, what: string): DockerImage[] {
  return array(parseJson(bytes, what), what).map((entry, i) => {
    const json = object(entry, `${what}[${i}]`);
    const tags = json.RepoTags === null || json.RepoTags === undefined ? [] : array(json.RepoTags, `${what}[${i}].RepoTags`);
    return {
      Config: string(json.Config, `${what}[${i}].Config`),
      RepoTags: tags.map((tag, t) => string(tag, `${what}[${i}].RepoTags[${t}]`)),
      Layers: array(json.Layers, `${what}[${i}].Layers`).map((layer, l) => string(layer, `${what}[${i}].Layers[${l}]`)),
    };
  });
}
