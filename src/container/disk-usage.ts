import type { BlobStore, Digest } from '../store/index.js';
import type { ContainerRecord, ImageRecord } from './engine-records.js';
import { type OwnerRefs, type References, describeOwner, referenceCounts } from './references.js';

/** One image's or container's use of the store, as `docker system df -v` shows it. */
export interface Usage {
  name: string;
  /** File bytes it shows (an image: its layers' files; a container: the files it changed or added). */
  logicalBytes: number;
  /** Bytes of the distinct blobs it references. */
  storedBytes: number;
  /** The part of storedBytes also referenced by another image or container. */
  sharedBytes: number;
  /** The part only it references: what removing it (then gc) would free. */
  uniqueBytes: number;
  blobs: number;
}

export interface DiskUsage {
  images: (Usage & { layers: number; containers: number })[];
  containers: (Usage & { image: string })[];
  store: {
    blobs: number;
    bytes: number;
    /** Bytes of blobs nothing references: what `gc` would free. */
    reclaimableBytes: number;
  };
  /** Roots that could not be read; their numbers are lower bounds. */
  unreadable: string[];
}

export function diskUsage(
  store: BlobStore,
  images: readonly ImageRecord[],
  containers: readonly ContainerRecord[],
  refs: References,
): DiskUsage {
  const counts = referenceCounts(refs.owners);
  const sizes = new Map<Digest, number>();
  const sizeOf = (digest: Digest) => {
    let size = sizes.get(digest);
    if (size === undefined) sizes.set(digest, (size = store.size(digest)));
    return size;
  };
  const usage = (owner: OwnerRefs): Usage => {
    let storedBytes = 0;
    let sharedBytes = 0;
    for (const digest of owner.digests) {
      const size = sizeOf(digest);
      storedBytes += size;
      if ((counts.get(digest) ?? 0) > 1) sharedBytes += size;
    }
    return { name: owner.owner.name, logicalBytes: owner.logicalBytes, storedBytes, sharedBytes, uniqueBytes: storedBytes - sharedBytes, blobs: owner.digests.size };
  };
  const byName = new Map(refs.owners.map((owner) => [`${owner.owner.kind}:${owner.owner.name}`, owner]));
  const ownerOf = (kind: string, name: string) => byName.get(`${kind}:${name}`)!;

  let blobs = 0;
  let bytes = 0;
  let reclaimableBytes = 0;
  for (const digest of store.digests()) {
    const size = sizeOf(digest);
    blobs++;
    bytes += size;
    if (!counts.has(digest)) reclaimableBytes += size;
  }
  return {
    images: images.map((image) => ({
      ...usage(ownerOf('image', image.name)),
      layers: image.layers.length,
      containers: containers.filter((container) => container.image === image.name).length,
    })),
    containers: containers.map((container) => ({ ...usage(ownerOf('container', container.name)), image: container.image })),
    store: { blobs, bytes, reclaimableBytes },
    unreadable: refs.unreadable.map(({ owner, digest, error }) => `${describeOwner(owner)}: ${digest}: ${(error as Error).message}`),
  };
}
