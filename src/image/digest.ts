import { type Hash, createHash } from 'node:crypto';
import { ImageError } from './errors.js';

/**
 * OCI content digests (`sha256:` + 64 hex, or `sha512:` + 128 hex), the names of blobs in image
 * layouts and the ids of layers in configs. Unlike layerfs's own xxh64 digests they are chosen by
 * whoever wrote the image, so every one is checked before it becomes part of a path.
 */
export type OciDigest = `sha256:${string}` | `sha512:${string}`;

const PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isOciDigest(value: unknown): value is OciDigest {
  return typeof value === 'string' && PATTERN.test(value);
}

/** The digest, or an EFORMAT ImageError saying where the bad value was found. */
export function parseOciDigest(value: unknown, where: string): OciDigest {
  if (!isOciDigest(value)) throw new ImageError('EFORMAT', `${where}: ${JSON.stringify(value)} is not a sha256 or sha512 digest`);
  return value;
}

/** `blobs/sha256/<hex>`: a blob's path in an OCI image layout. */
export function blobPath(digest: OciDigest): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return `blobs/${algorithm}/${hex}`;
}

/** The digest a blob path names, if it is a layout blob path. */
export function digestOfPath(path: string): OciDigest | undefined {
  const match = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
  const digest = match && `${match[1]}:${match[2]}`;
  return isOciDigest(digest) ? digest : undefined;
}

function algorithmOf(digest: OciDigest | 'sha256'): 'sha256' | 'sha512' {
  return digest.startsWith('sha512') ? 'sha512' : 'sha256';
}

export function sha256(bytes: Uint8Array): OciDigest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Hashes and counts bytes as they pass. */
export class Tally {
  private readonly algorithm: 'sha256' | 'sha512';
  private readonly hash: Hash;
  bytes = 0;

  /** Hashes with the algorithm of `like` (a digest to compare with later), sha256 by default. */
  constructor(like: OciDigest | 'sha256' = 'sha256') {
    this.algorithm = algorithmOf(like);
    this.hash = createHash(this.algorithm);
  }

  add(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** The digest of what passed so far (the tally can go on). */
  digest(): OciDigest {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}`;
  }

  /** Passes chunks through, tallying each; stops with the signal's reason when it aborts. */
  async *through(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      this.add(chunk);
      yield chunk;
    }
  }
}
