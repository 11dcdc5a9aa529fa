import { TarError } from './errors.js';

/**
 * PAX extended header records (POSIX.1-2001): `"<length> <key>=<value>\n"`, where the length
 * counts the whole record in bytes. Values are UTF-8 text except SCHILY.xattr.* values, which GNU
 * tar stores as raw bytes; so records are kept as bytes until their key says what they are.
 */
export type PaxRecords = Map<string, Uint8Array>;

const utf8 = new TextDecoder();
// Keys name xattrs (SCHILY.xattr.NAME): a mangled key would set a different attribute.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function parsePax(body: Uint8Array, offset: number): PaxRecords {
  const records: PaxRecords = new Map();
  let at = 0;
  while (at < body.length) {
    // Some writers pad the body with NULs after the last record.
    if (body[at] === 0 && body.subarray(at).every((byte) => byte === 0)) break;
    let space = at;
    while (space < body.length && body[space] !== 0x20) space++;
    const lengthText = utf8.decode(body.subarray(at, space));
    const length = /^[1-9][0-9]*$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    const end = at + length;
    if (!Number.isSafeInteger(length) || end > body.length || body[end - 1] !== 0x0a) {
      throw new TarError(`malformed PAX record ${JSON.stringify(lengthText.slice(0, 20))}`, offset + at);
    }
    const record = body.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TarError('PAX record without a key', offset + at);
    // A copy: the body may be a view into the source's buffer (Buffer.slice would be a view too).
    let key: string;
    try {
      key = strictUtf8.decode(record.subarray(0, equals));
    } catch {
      throw new TarError('PAX record key is not valid UTF-8', offset + at);
    }
    records.set(key, new Uint8Array(record.subarray(equals + 1)));
    at = end;
  }
  return records;
}

/** Formats records in the order given. */
export function formatPax(records: Iterable<[string, Uint8Array | string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of records) {
    const payload = Buffer.concat([Buffer.from(` ${key}=`), typeof value === 'string' ? Buffer.from(value) : value, Buffer.from('\n')]);
    // The length counts its own digits: grow it until it is stable.
    let length = payload.length + 1;
    while (String(length).length + payload.length !== length) length = String(length).length + payload.length;
    parts.push(Buffer.from(String(length)), payload);
  }
  return Buffer.concat(parts);
}

/** `1234567890.123456789` or `-1.5` (the sign covers the whole value, as GNU tar writes it) in ns. */
export function parsePaxTime(text: string, offset: number): bigint {
  const match = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(text);
  if (!match) throw new TarError(`malformed PAX time ${JSON.stringify(text)}`, offset);
  // Digits past nanoseconds are dropped, as Linux keeps no more.
  const fraction = BigInt((match[3] ?? '').slice(0, 9).padEnd(9, '0'));
  const ns = BigInt(match[2]!) * 1_000_000_000n + fraction;
  return match[1] === '-' ? -ns : ns;
}

export function formatPaxTime(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const magnitude = ns < 0n ? -ns : ns;
  const seconds = magnitude / 1_000_000_000n;
  const fraction = (magnitude % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${seconds}` : `${sign}${seconds}.${fraction}`;
}
