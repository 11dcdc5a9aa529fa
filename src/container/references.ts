import type { Layer, LayerId } from '../layer/index.js';
import type { BlobStore, Digest } from '../store/index.js';
import type { ContainerRecord, ImageRecord } from './engine-records.js';
import { upperReferences } from './upper-codec.js';

/** An image or a container, as the owner of the blobs it references. */
export interface Owner {
  kind: 'image' | 'container';
  name: string;
}

/** A root (layer or upper blob) whose own blob could not be read: what it references is unknown. */
export interface Unreadable {
  owner: Owner;
  digest: Digest;
  error: unknown;
}

export interface OwnerRefs {
  owner: Owner;
  /** The layers it stands on, bottom first (a container's too, though it may not own them). */
  layers: readonly LayerId[];
  /** Every blob this owner keeps alive (roots included). */
  digests: Set<Digest>;
  /** File bytes it shows: layers' file content for an image, the upper's files for a container. */
  logicalBytes: number;
}

export interface References {
  owners: OwnerRefs[];
  unreadable: Unreadable[];
  /** The blobs of one layer (its own blob included), or undefined when it could not be read. */
  layerDigests(id: LayerId): ReadonlySet<Digest> | undefined;
}

/**
 * Who references which blob. An image owns its layers and their chunks. A container owns its
 * upper blob and the chunks that upper references, plus any of its layers that no image lists
 * any more (its image was replaced by a tag): together the owners cover every live blob.
 */
export function collectReferences(
  images: readonly ImageRecord[],
  containers: readonly ContainerRecord[],
  loadLayer: (id: LayerId) => Layer,
  store: BlobStore,
  /** The chunks a container's journal references (its incremental saves). */
  journalDigests: (container: ContainerRecord) => Iterable<Digest> = () => [],
): References {
  const unreadable: Unreadable[] = [];
  const owners: OwnerRefs[] = [];
  const layers = new Map<LayerId, { digests: Set<Digest>; bytes: number } | undefined>();
  const addLayer = (refs: OwnerRefs, id: LayerId) => {
    refs.digests.add(id);
    if (!layers.has(id)) {
      try {
        const layer = loadLayer(id);
        layers.set(id, { digests: layer.digests(), bytes: layer.contentBytes() });
      } catch (error) {
        layers.set(id, undefined);
        unreadable.push({ owner: refs.owner, digest: id, error });
      }
    }
    const known = layers.get(id);
    if (!known) return;
    for (const digest of known.digests) refs.digests.add(digest);
    refs.logicalBytes += known.bytes;
  };
  const inImages = new Set<LayerId>();
  for (const image of images) {
    const refs: OwnerRefs = { owner: { kind: 'image', name: image.name }, layers: image.layers, digests: new Set(), logicalBytes: 0 };
    for (const id of image.layers) {
      inImages.add(id);
      addLayer(refs, id);
    }
    owners.push(refs);
  }
  for (const container of containers) {
    const refs: OwnerRefs = { owner: { kind: 'container', name: container.name }, layers: container.layers, digests: new Set(), logicalBytes: 0 };
    for (const id of container.layers) if (!inImages.has(id)) addLayer(refs, id);
    const upper = container.upper;
    if (upper !== null) {
      refs.digests.add(upper);
      try {
        const found = upperReferences(store.get(upper));
        for (const digest of found.digests) refs.digests.add(digest);
        refs.logicalBytes += found.fileBytes;
      } catch (error) {
        unreadable.push({ owner: refs.owner, digest: upper, error });
      }
    }
    for (const digest of journalDigests(container)) refs.digests.add(digest);
    owners.push(refs);
  }
  return { owners, unreadable, layerDigests: (id) => layers.get(id)?.digests };
}

/** How many owners reference each blob. */
export function referenceCounts(owners: readonly OwnerRefs[]): Map<Digest, number> {
  const counts = new Map<Digest, number>();
  for (const { digests } of owners) for (const digest of digests) counts.set(digest, (counts.get(digest) ?? 0) + 1);
  return counts;
}

export function describeOwner(owner: Owner): string {
  return `${owner.kind} ${owner.name}`;
}
