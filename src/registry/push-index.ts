import { jsonBytes } from '../image/config.js';
import { type OciDigest, sha256 } from '../image/digest.js';
import { type Descriptor, MEDIA, type Platform, isIndexType, isManifestType, parseConfig, parseIndex, parseManifest } from '../image/oci-json.js';
import { MAX_MANIFEST, type RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/**
 * Puts an image index at `tag` holding the manifest just pushed (for its platform) and every
 * other platform the tag already names: a plain manifest there becomes the index's first entry
 * (its platform read from its config), an index keeps its entries but the one of this platform,
 * which is replaced. This is how one tag comes to serve several platforms (`docker manifest`).
 */
export async function putIndex(client: RegistryClient, repository: string, tag: string, ours: { digest: OciDigest; size: number; platform: Platform }): Promise<OciDigest> {
  const entries: Descriptor[] = [];
  const same = (platform: Platform | undefined) => platform?.os === ours.platform.os && platform.architecture === ours.platform.architecture && platform.variant === ours.platform.variant;
  const existing = await client.getManifest(repository, tag).catch((error: unknown) => {
    if (error instanceof RegistryError && error.code === 'ENOTFOUND') return undefined;
    throw error;
  });
  const what = `${client.registry}/${repository}:${tag}`;
  if (existing && isIndexType(existing.mediaType)) {
    entries.push(...parseIndex(existing.bytes, what).manifests.filter((entry) => !same(entry.platform)));
  } else if (existing && isManifestType(existing.mediaType)) {
    const manifest = parseManifest(existing.bytes, what);
    const config = parseConfig(await client.getBlob(repository, manifest.config.digest, manifest.config.size, MAX_MANIFEST), `${what} config`);
    const platform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    if (!same(platform)) entries.push({ mediaType: existing.mediaType, digest: existing.digest, size: existing.bytes.length, platform });
  }
  entries.push({ mediaType: MEDIA.ociManifest, digest: ours.digest, size: ours.size, platform: ours.platform });
  const index = jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: entries });
  await client.putManifest(repository, tag, index, MEDIA.ociIndex);
  return sha256(index);
}
