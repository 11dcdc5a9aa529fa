import { TarError } from './errors.js';
import { parseNumber } from './numbers.js';

/** What an entry is; `other` is any typeflag this reader does not give a meaning (see `typeflag`). */
export type TarType = 'file' | 'link' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo' | 'other';

/** One archive member, with PAX and GNU long-name extensions already applied. */
export interface TarHeader {
  /** The member name exactly as archived (not normalised: may start with `/` or `./`). */
  readonly path: string;
  readonly type: TarType;
  /** The raw typeflag character ('0', '5', 'S', ...). */
  readonly typeflag: string;
  /** Permission bits with setuid, setgid and sticky (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** Bytes of data that follow the header (0 for links, directories, devices and fifos). */
  readonly size: number;
  /** Times in nanoseconds; atime and ctime only when a PAX header carried them. */
  readonly mtime: bigint;
  readonly atime: bigint | undefined;
  readonly ctime: bigint | undefined;
  /** Target of a symlink, or the earlier member a hard link names. */
  readonly linkpath: string;
  readonly devmajor: number;
  readonly devminor: number;
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  /** PAX records this reader does not interpret, as text. */
  readonly pax: ReadonlyMap<string, string>;
  /** Where the member's first header block (PAX or GNU long name included) starts. */
  readonly offset: number;
}

export const BLOCK = 512;

const TYPES: Readonly<Record<string, TarType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on old Masscomp systems
  '1': 'link',
  '2': 'symlink',
  '3': 'chardev',
  '4': 'blockdev',
  '5': 'dir',
  '6': 'fifo',
};

export function typeOf(typeflag: string): TarType {
  return TYPES[typeflag] ?? 'other';
}

/** The fields of one 512-byte ustar, GNU or v7 header block, before extensions are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: bigint;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a NUL-terminated field. */
export function field(block: Uint8Array, at: number, width: number): Uint8Array {
  const bytes = block.subarray(at, at + width);
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** A field as text, invalid UTF-8 shown as U+FFFD: for informational fields (uname, gname). */
export function text(block: Uint8Array, at: number, width: number): string {
  return utf8.decode(field(block, at, width));
}

/**
 * Names and link targets as text, or a TarError: a name that is not UTF-8 (a Latin-1 archive,
 * garbage) would otherwise become U+FFFD and silently name a different file.
 */
export function nameText(bytes: Uint8Array, what: string, offset: number): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new TarError(`${what} is not valid UTF-8: "${escapeBytes(bytes)}"`, offset);
  }
}

/** Printable ASCII as is, everything else as \xNN: how an error shows a name it cannot decode. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return out;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Sums the block with the checksum field read as spaces; old writers summed signed bytes. */
function checksums(block: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return [unsigned, signed];
}

export function checksum(block: Uint8Array): number {
  return checksums(block)[0];
}

function number(block: Uint8Array, at: number, width: number, field: string, offset: number): bigint {
  const value = parseNumber(block.subarray(at, at + width));
  if (value === undefined) throw new TarError(`bad ${field} field in tar header`, offset);
  return value;
}

function small(value: bigint, field: string, offset: number): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarError(`${field} ${value} out of range`, offset);
  return Number(value);
}

/** Parses and checks one header block at archive offset `offset`. */
export function parseHeader(block: Uint8Array, offset: number): RawHeader {
  const stored = parseNumber(block.subarray(148, 156));
  const [unsigned, signed] = checksums(block);
  if (stored === undefined || (stored !== BigInt(unsigned) && stored !== BigInt(signed))) {
    const bytes = JSON.stringify(latin1.decode(block.subarray(0, 16)));
    throw new TarError(`not a tar header: checksum mismatch (block starts ${bytes})`, offset);
  }
  const magic = latin1.decode(block.subarray(257, 265));
  const posix = magic.startsWith('ustar\0');
  const gnu = magic === 'ustar  \0';
  let name = nameText(field(block, 0, 100), 'member name', offset);
  // The prefix field exists only in POSIX ustar; GNU keeps times and sparse data there.
  if (posix) {
    const prefix = nameText(field(block, 345, 155), 'member name prefix', offset);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const typeflag = String.fromCharCode(block[156]!);
  return {
    name,
    mode: Number(number(block, 100, 8, 'mode', offset) & 0o7777n),
    uid: small(number(block, 108, 8, 'uid', offset), 'uid', offset),
    gid: small(number(block, 116, 8, 'gid', offset), 'gid', offset),
    size: small(number(block, 124, 12, 'size', offset), 'size', offset),
    mtime: number(block, 136, 12, 'mtime', offset) * 1_000_000_000n,
    typeflag,
    linkname: nameText(field(block, 157, 100), `link target of ${JSON.stringify(name)}`, offset),
    uname: posix || gnu ? text(block, 265, 32) : '',
    gname: posix || gnu ? text(block, 297, 32) : '',
    devmajor: posix || gnu ? small(parseNumber(block.subarray(329, 337)) ?? 0n, 'devmajor', offset) : 0,
    devminor: posix || gnu ? small(parseNumber(block.subarray(337, 345)) ?? 0n, 'devminor', offset) : 0,
  };
}
