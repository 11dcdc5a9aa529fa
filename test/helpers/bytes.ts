/** Deterministic test data: the same seed always gives the same bytes. */

/** xorshift32: fast, seeded, good enough to make chunks that never repeat by accident. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, Math.floor(length / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = (seed + i) & 0xff | 1;
  return out;
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Byte equality that stays fast on megabytes (toEqual walks element by element) and names the first difference. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (actual.length === expected.length && Buffer.compare(actual, expected) === 0) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  throw new Error(`bytes differ at offset ${at} (lengths ${actual.length} and ${expected.length})`);
}
