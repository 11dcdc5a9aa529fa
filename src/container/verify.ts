import type { BaseBlobStore, Digest } from '../store/index.js';
import type { LayerId } from '../layer/index.js';
import { type OwnerRefs, type References, describeOwner } from './references.js';

export interface BlobProblem {
  digest: Digest;
  fault: 'missing' | 'corrupt';
  /** The images and containers that reference it (empty: garbage, `gc` removes it). */
  images: string[];
  containers: string[];
}

export interface VerifyReport {
  ok: boolean;
  /** Blobs rehashed. */
  blobs: number;
  bytes: number;
  problems: BlobProblem[];
  /** Images and containers that cannot be read whole. */
  brokenImages: string[];
  brokenContainers: string[];
  /** Roots that are intact blobs yet do not decode (a bug or a foreign file), with the reason. */
  undecodable: string[];
  /** Referenced chunks of lazily pulled images not fetched yet: not here, not lost either. */
  notFetched: number;
}

/**
 * Rehashes every blob and checks that every referenced blob is present: a missing or corrupt
 * blob is reported with the images and containers it breaks. `onBlob` reports progress. A
 * missing blob that `fetchable` says is fetched on first read (a lazily pulled image's chunk)
 * is counted in notFetched, not as a problem.
 */
export function verifyStore(
  store: BaseBlobStore,
  refs: References,
  onBlob?: (done: number) => void,
  fetchable: (digest: Digest) => boolean = () => false,
): VerifyReport {
  const users = new Map<Digest, OwnerRefs['owner'][]>();
  for (const { owner, digests } of refs.owners) {
    for (const digest of digests) {
      const list = users.get(digest);
      if (list) list.push(owner);
      else users.set(digest, [owner]);
    }
  }
  const faults = new Map<Digest, BlobProblem['fault']>();
  let blobs = 0;
  let bytes = 0;
  for (const digest of store.digests()) {
    blobs++;
    bytes += store.size(digest);
    if (!store.verify(digest)) faults.set(digest, 'corrupt');
    onBlob?.(blobs);
  }
  let notFetched = 0;
  for (const digest of users.keys()) {
    if (faults.has(digest) || store.has(digest)) continue;
    if (fetchable(digest)) notFetched++;
    else faults.set(digest, 'missing');
  }

  const problems: BlobProblem[] = [];
  for (const [digest, fault] of faults) {
    const owners = users.get(digest) ?? [];
    const names = (kind: 'image' | 'container') => owners.filter((owner) => owner.kind === kind).map((owner) => owner.name);
    problems.push({ digest, fault, images: names('image'), containers: names('container') });
  }
  problems.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  const undecodable = refs.unreadable
    .filter(({ digest }) => !faults.has(digest))
    .map(({ owner, digest, error }) => `${describeOwner(owner)}: ${digest}: ${(error as Error).message}`);

  // An owner is broken by a bad blob of its own or by any bad layer it stands on: a container
  // whose image's layer lost a chunk cannot be read whole either.
  const badLayer = new Map<LayerId, boolean>();
  const layerIsBad = (id: LayerId) => {
    let bad = badLayer.get(id);
    if (bad === undefined) {
      const digests = refs.layerDigests(id);
      bad = faults.has(id) || digests === undefined || [...digests].some((digest) => faults.has(digest));
      badLayer.set(id, bad);
    }
    return bad;
  };
  const unreadable = new Set(refs.unreadable.map(({ owner }) => describeOwner(owner)));
  const broken = ({ owner, layers, digests }: OwnerRefs) =>
    unreadable.has(describeOwner(owner)) || layers.some(layerIsBad) || [...digests].some((digest) => faults.has(digest));
  const brokenOf = (kind: 'image' | 'container') =>
    refs.owners
      .filter((refsOf) => refsOf.owner.kind === kind && broken(refsOf))
      .map(({ owner }) => owner.name)
      .sort();
  return {
    ok: problems.length === 0 && undecodable.length === 0,
    blobs,
    bytes,
    problems,
    brokenImages: brokenOf('image'),
    brokenContainers: brokenOf('container'),
    undecodable,
    notFetched,
  };
}
