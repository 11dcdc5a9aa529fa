/**
 * Images and their exchange formats. An image is a stack of layers (src/union's Image); here are
 * the formats the rest of the world keeps them in: OCI image layouts (a folder or a tar of one:
 * oci-layout, index.json, blobs/sha256), `docker save` tarballs, and single OCI/Docker layer
 * tarballs, plain or gzip. This folder is the only place that knows `.wh.` names: import turns
 * `.wh.NAME` into a whiteout and `.wh..wh..opq` into an opaque directory, export turns them back.
 *
 * Import checks every digest (blob digests against manifests, diff ids against the config) and
 * treats archives as hostile: names are confined to the layer, nothing goes through a planted
 * symlink, sizes and decompression are bounded, names must be UTF-8. It only adds unreferenced
 * blobs to the store; the image appears when the caller tags the returned layers, so a failed
 * import leaves nothing visible. Export is deterministic: the same layers give the same bytes.
 */
export * from './tar.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export { type OciDigest, isOciDigest, sha256 } from './digest.js';
export { type Compression, gzip, gunzip } from './compression.js';
export { WHITEOUT_PREFIX, OPAQUE_MARKER, ociMemberRole } from './whiteout.js';
export { layerFromTar, memberPath, type FromTarOptions, type MemberRole } from './layer-from-tar.js';
export { type LayerBlob, type LayerImportOptions, DEFAULT_MAX_LAYER_SIZE, importLayer } from './layer-import.js';
export { type ImageFormat, type ImageImportOptions, type ImportedImage, type ImportedBlob, importImage } from './import.js';
export { type LayerExportOptions, layerTarEntries, layerTar, layerTarGzip } from './layer-export.js';
export { type ImageExportOptions, ociArchive, dockerArchive, writeOciLayout } from './export.js';
export { type ConfigOptions, imageConfig } from './config.js';
export { hostPlatform } from './resolve.js';
export { writeStreamAtomic } from './write-file.js';
export { type ImageConfig, type ImageIndex, type ImageManifest, type Descriptor, type Platform, type History, type DockerImage, MEDIA } from './oci-json.js';
