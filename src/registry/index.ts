/**
 * Images through OCI registries (the distribution API v2): `layerfs push` and `layerfs pull`.
 * A pull is the image import of src/image reading from a registry instead of a folder (see
 * RegistryFiles): the same digest checks, the same "no image until every layer is in". A push
 * is the export of src/image uploaded blob by blob. Around them: references, the logins podman
 * and docker keep, bearer and basic auth, TLS trust, retries and resumed downloads, and a cache
 * beside the store of which registry blob holds which layer, so nothing travels twice.
 */
export { RegistryError, type RegistryErrorCode } from './errors.js';
export { type ImageRef, parseRef, formatRef, isLoopback } from './reference.js';
export { type Credentials, authFiles, findCredentials } from './credentials.js';
export { type TransportOptions } from './transport.js';
export { type ClientOptions, RegistryClient, MAX_MANIFEST } from './client.js';
export { BlobCache, type KnownBlob } from './blob-cache.js';
export { type LayerEvent } from './registry-files.js';
export { type PullOptions, type PulledImage, pullImage, defaultName } from './pull.js';
export { type PushOptions, type PushEvent, type PushedImage, pushImage } from './push.js';
export { type LazyPulledImage, pullLazy } from './lazy-pull.js';
export { LazyBlobStore, lazyReads, lazyTimeoutMs } from './lazy-store.js';
export { type LazyRecord, LazyRecords } from './lazy-records.js';
export { LAZY_INDEX_TYPE, type LazyIndex, lazyTag, parseLazyIndex } from './lazy-index.js';
export { type LazyPresence, fetchRest, lazyPresence } from './lazy-rest.js';
