import { BLOCK, type TarType, checksum } from './header.js';
import { formatNumber, octalLimit } from './numbers.js';
import { formatPax, formatPaxTime } from './pax.js';

/** One member to write; what is left out takes the usual default (0, '', mode 644/755/777). */
export interface TarEntryInput {
  path: string;
  type: Exclude<TarType, 'other'>;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Bytes of data; defaults to the length of `data` when that is a Uint8Array. */
  size?: number;
  mtime?: bigint;
  /** Written (as PAX records) only when given. */
  atime?: bigint;
  ctime?: bigint;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

export interface TarWriteEntry extends TarEntryInput {
  data?: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

const TYPEFLAGS: Readonly<Record<TarEntryInput['type'], string>> = {
  file: '0',
  link: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  dir: '5',
  fifo: '6',
};

const NS = 1_000_000_000n;
/** Two zero blocks end an archive. */
export const TAR_END = new Uint8Array(2 * BLOCK);

/**
 * The header blocks of one member: a PAX extended header when ustar cannot hold a field exactly
 * (long names, 8 GiB and larger sizes, large ids, sub-second or negative times, atime, ctime,
 * xattrs), then the ustar header. The same input always gives the same bytes.
 */
export function tarHeader(entry: TarEntryInput): Uint8Array {
  const size = entry.size ?? 0;
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const mtime = entry.mtime ?? 0n;
  const records: [string, Uint8Array | string][] = [];

  const pathBytes = Buffer.from(path);
  const split = splitName(pathBytes);
  if (!split) records.push(['path', path]);
  const linkpath = entry.linkpath ?? '';
  if (Buffer.byteLength(linkpath) > 100) records.push(['linkpath', linkpath]);
  if (BigInt(size) > octalLimit(12)) records.push(['size', String(size)]);
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  if (BigInt(uid) > octalLimit(8)) records.push(['uid', String(uid)]);
  if (BigInt(gid) > octalLimit(8)) records.push(['gid', String(gid)]);
  const uname = entry.uname ?? '';
  const gname = entry.gname ?? '';
  if (Buffer.byteLength(uname) > 32) records.push(['uname', uname]);
  if (Buffer.byteLength(gname) > 32) records.push(['gname', gname]);
  const seconds = floorDiv(mtime, NS);
  if (mtime % NS !== 0n || seconds < 0n || seconds > octalLimit(12)) records.push(['mtime', formatPaxTime(mtime)]);
  if (entry.atime !== undefined) records.push(['atime', formatPaxTime(entry.atime)]);
  if (entry.ctime !== undefined) records.push(['ctime', formatPaxTime(entry.ctime)]);
  for (const name of [...(entry.xattrs?.keys() ?? [])].sort()) records.push([`SCHILY.xattr.${name}`, entry.xattrs!.get(name)!]);

  const block = new Uint8Array(BLOCK);
  const [prefix, name] = split ?? [new Uint8Array(0), pathBytes.subarray(0, 100)];
  block.set(name, 0);
  formatNumber(block, 100, 8, BigInt(entry.mode ?? defaultMode(entry.type)));
  formatNumber(block, 108, 8, clamp(BigInt(uid), 8));
  formatNumber(block, 116, 8, clamp(BigInt(gid), 8));
  // Base-256 where octal overflows: readers without PAX still frame the archive right.
  formatNumber(block, 124, 12, BigInt(size));
  formatNumber(block, 136, 12, seconds > octalLimit(12) || seconds < 0n ? clampTime(seconds) : seconds);
  block[156] = TYPEFLAGS[entry.type].charCodeAt(0);
  block.set(Buffer.from(linkpath).subarray(0, 100), 157);
  block.set(Buffer.from('ustar\x0000'), 257);
  block.set(Buffer.from(uname).subarray(0, 32), 265);
  block.set(Buffer.from(gname).subarray(0, 32), 297);
  if (entry.type === 'chardev' || entry.type === 'blockdev') {
    formatNumber(block, 329, 8, BigInt(entry.devmajor ?? 0));
    formatNumber(block, 337, 8, BigInt(entry.devminor ?? 0));
  }
  block.set(prefix, 345);
  writeChecksum(block);
  if (records.length === 0) return block;

  const pax = formatPax(records);
  const paxBlock = new Uint8Array(BLOCK);
  const base = path.replace(/\/+$/, '').split('/').pop() || '.';
  paxBlock.set(Buffer.from(`PaxHeaders/${base}`).subarray(0, 100), 0);
  formatNumber(paxBlock, 100, 8, 0o644n);
  formatNumber(paxBlock, 108, 8, 0n);
  formatNumber(paxBlock, 116, 8, 0n);
  formatNumber(paxBlock, 124, 12, BigInt(pax.length));
  formatNumber(paxBlock, 136, 12, seconds < 0n ? 0n : clampTime(seconds));
  paxBlock[156] = 'x'.charCodeAt(0);
  paxBlock.set(Buffer.from('ustar\x0000'), 257);
  writeChecksum(paxBlock);
  return Buffer.concat([paxBlock, pax, tarPadding(pax.length), block]);
}

/** Zeros that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Streams an archive: headers, data as given (its length is checked against `size`), the end blocks. */
export async function* writeTar(entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    const size = entry.size ?? (entry.data instanceof Uint8Array ? entry.data.length : 0);
    yield tarHeader({ ...entry, size });
    let written = 0;
    if (entry.data !== undefined) {
      for await (const chunk of entry.data instanceof Uint8Array ? [entry.data] : entry.data) {
        written += chunk.length;
        if (written > size) break;
        yield chunk;
      }
    }
    if (written !== size) throw new RangeError(`${entry.path}: ${written} bytes of data for a size of ${size}`);
    yield tarPadding(size);
  }
  yield TAR_END;
}

/** A whole archive in memory, for small ones. */
export function packTar(entries: Iterable<TarEntryInput & { data?: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    const size = entry.size ?? data.length;
    if (size !== data.length) throw new RangeError(`${entry.path}: ${data.length} bytes of data for a size of ${size}`);
    parts.push(tarHeader({ ...entry, size }), data, tarPadding(size));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

/** Splits a path into ustar's prefix (up to 155 bytes) and name (up to 100) at a slash, if it can. */
function splitName(path: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  if (path.length <= 100) return [new Uint8Array(0), path];
  for (let at = path.indexOf(0x2f); at !== -1 && at <= 155; at = path.indexOf(0x2f, at + 1)) {
    const rest = path.length - at - 1;
    if (rest > 0 && rest <= 100) return [path.subarray(0, at), path.subarray(at + 1)];
  }
  return undefined;
}

function defaultMode(type: TarEntryInput['type']): number {
  return type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
}

function floorDiv(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor;
  return value % divisor !== 0n && value < 0n ? quotient - 1n : quotient;
}

/** An id that needs PAX still gets a field readers can parse: the largest octal value. */
function clamp(value: bigint, width: number): bigint {
  return value > octalLimit(width) ? octalLimit(width) : value;
}

/** Times base-256 can hold go there (GNU tar reads them); anything beyond is clamped. */
function clampTime(seconds: bigint): bigint {
  const limit = 1n << 88n;
  return seconds >= limit ? limit - 1n : seconds < -limit ? -limit : seconds;
}

function writeChecksum(block: Uint8Array): void {
  block.fill(0x20, 148, 156);
  const text = checksum(block).toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) block[148 + i] = text.charCodeAt(i);
  block[154] = 0;
  block[155] = 0x20;
}
