import xxhash from 'xxhash-wasm';

/** `xxh64:` + 16 hex digits; a true hash collision gets a `~N` suffix so it can never alias. */
export type Digest = string & { readonly __digest: unique symbol };

/** A 64-bit content hash. Injectable so tests can force collisions. */
export type HashFn = (bytes: Uint8Array) => bigint;

const { h64Raw, create64 } = await xxhash();

// One call over a large buffer copies it all into growing WebAssembly memory (about 140 MB/s);
// 64 KiB slices run near 5 GB/s (shared/FACTS.md).
const SLICE = 64 * 1024;

export const xxh64: HashFn = (bytes) => {
  if (bytes.length <= SLICE) return h64Raw(bytes);
  const state = create64();
  for (let at = 0; at < bytes.length; at += SLICE) state.update(bytes.subarray(at, at + SLICE));
  return state.digest();
};

const DIGEST = /^xxh64:([0-9a-f]{16})(?:~([1-9][0-9]*))?$/;

export function toDigest(hash: bigint, collision = 0): Digest {
  const hex = hash.toString(16).padStart(16, '0');
  return (collision === 0 ? `xxh64:${hex}` : `xxh64:${hex}~${collision}`) as Digest;
}

export function parseDigest(text: string): { hash: bigint; collision: number } {
  const match = DIGEST.exec(text);
  if (!match) throw new TypeError(`not a digest: ${JSON.stringify(text)}`);
  return { hash: BigInt(`0x${match[1]}`), collision: match[2] === undefined ? 0 : Number(match[2]) };
}

export function isDigest(text: string): text is Digest {
  return DIGEST.test(text);
}
