/**
 * Numeric header fields: octal text (NUL or space terminated), or GNU's base-256 binary form
 * when the high bit of the first byte is set (used for values octal cannot hold: sizes of
 * 8 GiB and more, negative times, large ids). In base-256 the remaining 8*width-1 bits are a
 * big-endian two's complement number, so bit 6 of the first byte is the sign (as GNU tar and
 * Go's archive/tar read it).
 */

/** Parses a field; undefined when it holds neither octal digits nor base-256. */
export function parseNumber(field: Uint8Array): bigint | undefined {
  const first = field[0] ?? 0;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f);
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i]!);
    if (first & 0x40) value -= 1n << BigInt(8 * field.length - 1);
    return value;
  }
  let at = 0;
  while (at < field.length && field[at] === 0x20) at++;
  let value = 0n;
  for (; at < field.length; at++) {
    const byte = field[at]!;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) return undefined;
    value = value * 8n + BigInt(byte - 0x30);
  }
  // Only NULs and spaces may follow the digits.
  for (; at < field.length; at++) if (field[at] !== 0 && field[at] !== 0x20) return undefined;
  return value;
}

/** Largest value the octal form of a field of `width` bytes holds (width - 1 digits and a NUL). */
export function octalLimit(width: number): bigint {
  return 8n ** BigInt(width - 1) - 1n;
}

/** Writes a field: octal when it fits, base-256 otherwise (GNU tar reads both). */
export function formatNumber(target: Uint8Array, at: number, width: number, value: bigint): void {
  if (value >= 0n && value <= octalLimit(width)) {
    const text = value.toString(8).padStart(width - 1, '0');
    for (let i = 0; i < width - 1; i++) target[at + i] = text.charCodeAt(i);
    target[at + width - 1] = 0;
    return;
  }
  const bits = BigInt(8 * width - 1);
  const half = 1n << (bits - 1n);
  if (value >= half || value < -half) throw new RangeError(`${value} does not fit a ${width}-byte tar field`);
  let rest = value < 0n ? value + (1n << bits) : value;
  for (let i = width - 1; i >= 0; i--) {
    target[at + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  target[at] = target[at]! | 0x80;
}
