import { TarError } from './errors.js';
import { BLOCK, type RawHeader, type TarHeader, type TarType, isZeroBlock, nameText, parseHeader, typeOf } from './header.js';
import { type PaxRecords, parsePax, parsePaxTime } from './pax.js';
import { ByteSource, type TarSource } from './source.js';

export interface TarEntry {
  readonly header: TarHeader;
  /**
   * The member's data as the source hands it over, without copying: copy a chunk to keep it.
   * Read it (or not) before asking for the next entry; the rest is skipped then.
   */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface ReadTarOptions {
  /** Largest PAX or GNU long-name header accepted, in bytes (default 1 MiB): garbage must not allocate gigabytes. */
  maxExtensionSize?: number;
}

// Members whose size field says nothing about data that follows (as Go's archive/tar reads them):
// some writers put a directory's on-disk size there.
const HEADER_ONLY: ReadonlySet<TarType> = new Set(['link', 'symlink', 'chardev', 'blockdev', 'dir', 'fifo']);

const utf8 = new TextDecoder();

/**
 * Reads a tar archive (POSIX ustar and pax, GNU, v7) member by member, streaming each body:
 * memory stays bounded however large the members are. Header checksums are verified; garbage,
 * truncation and unsupported extensions (GNU sparse, multi-volume) are TarErrors with the offset.
 * The end is two zero blocks, or the end of the source at a member boundary (as Go reads it).
 */
export async function* readTar(source: TarSource, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const maxExtension = options.maxExtensionSize ?? 1024 * 1024;
  const input = new ByteSource(source);
  const globals: PaxRecords = new Map();
  try {
    for (;;) {
      const start = input.offset;
      const extension = { local: new Map() as PaxRecords, longName: undefined as string | undefined, longLink: undefined as string | undefined };
      let pending = false;
      let raw: RawHeader;
      for (;;) {
        const at = input.offset;
        const block = await input.read(BLOCK);
        if (block.length === 0 || isZeroBlock(block)) {
          if (pending) throw new TarError('archive ends after an extended header, before its member', at);
          return;
        }
        if (block.length < BLOCK) throw new TarError(`truncated archive: header block has ${block.length} of ${BLOCK} bytes`, at);
        raw = parseHeader(block, at);
        if (!'xgLK'.includes(raw.typeflag)) break;
        if (raw.typeflag === 'x' || raw.typeflag === 'g') {
          const records = parsePax(await readExtension(input, raw.size, at, maxExtension), at + BLOCK);
          const target = raw.typeflag === 'g' ? globals : extension.local;
          for (const [key, value] of records) target.set(key, value);
          // Each header is bounded, but a run of them with new keys would pile up without end.
          if (paxSize(globals) + paxSize(extension.local) > maxExtension) {
            throw new TarError(`extended headers hold more than ${maxExtension} bytes`, at);
          }
          // A global header is a member of its own: it applies to what follows, needs no member.
          pending ||= raw.typeflag === 'x';
        } else {
          const name = await readExtension(input, raw.size, at, maxExtension);
          const end = name.indexOf(0);
          const value = nameText(end === -1 ? name : name.subarray(0, end), raw.typeflag === 'L' ? 'GNU long name' : 'GNU long link target', at);
          if (raw.typeflag === 'L') extension.longName = value;
          else extension.longLink = value;
          pending = true;
        }
      }
      const header = applyExtensions(raw, globals, extension, start, input.offset - BLOCK);
      let left = header.size;
      let current = true;
      const body = (async function* () {
        if (!current) throw new Error(`body of ${JSON.stringify(header.path)} read after the next entry was requested`);
        for await (const chunk of input.stream(left)) {
          left -= chunk.length;
          yield chunk;
          if (!current) throw new Error(`body of ${JSON.stringify(header.path)} read after the next entry was requested`);
        }
        if (left > 0) throw truncatedBody(header, input.offset);
      })();
      yield { header, body };
      current = false;
      if (left > 0) left -= await input.skip(left);
      if (left > 0) throw truncatedBody(header, input.offset);
      const padding = (BLOCK - (header.size % BLOCK)) % BLOCK;
      if ((await input.skip(padding)) < padding) throw truncatedBody(header, input.offset);
    }
  } finally {
    await input.close();
  }
}

function truncatedBody(header: TarHeader, end: number): TarError {
  return new TarError(`truncated archive: ${JSON.stringify(header.path)} has ${header.size} bytes of data but the archive ends at offset ${end}`, header.offset);
}

/** The whole body of a PAX or GNU long-name header, padding consumed. */
async function readExtension(input: ByteSource, size: number, at: number, max: number): Promise<Uint8Array> {
  if (size > max) throw new TarError(`extended header of ${size} bytes is larger than the ${max} allowed`, at);
  const padded = Math.ceil(size / BLOCK) * BLOCK;
  const body = await input.read(padded);
  if (body.length < padded) throw new TarError('truncated archive inside an extended header', at);
  return body.subarray(0, size);
}

interface Extension {
  local: PaxRecords;
  longName: string | undefined;
  longLink: string | undefined;
}

function applyExtensions(raw: RawHeader, globals: PaxRecords, extension: Extension, offset: number, headerOffset: number): TarHeader {
  if (raw.typeflag === 'S') throw new TarError('GNU sparse files are not supported', headerOffset);
  if (raw.typeflag === 'M') throw new TarError('GNU multi-volume archives are not supported', headerOffset);
  const records: PaxRecords = new Map(globals);
  for (const [key, value] of extension.local) records.set(key, value);
  let path = extension.longName ?? raw.name;
  let linkpath = extension.longLink ?? raw.linkname;
  let { size, uid, gid, uname, gname, mtime } = raw;
  let atime: bigint | undefined;
  let ctime: bigint | undefined;
  const xattrs = new Map<string, Uint8Array>();
  const pax = new Map<string, string>();
  const decimal = (key: string, value: string) => {
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new TarError(`bad PAX ${key} ${JSON.stringify(value)}`, offset);
    return Number(value);
  };
  for (const [key, bytes] of records) {
    // An empty extended attribute is still one; for other keys an empty value undoes a global one.
    if (key.startsWith('SCHILY.xattr.')) {
      xattrs.set(key.slice('SCHILY.xattr.'.length), bytes);
      continue;
    }
    if (bytes.length === 0) continue;
    // Names must be UTF-8 (see nameText); `hdrcharset=BINARY` says they are not, so it is refused.
    const value = key === 'path' || key === 'linkpath' ? nameText(bytes, `PAX ${key}`, offset) : utf8.decode(bytes);
    if (key === 'hdrcharset' && value !== 'ISO-IR 10646 2000 UTF-8') throw new TarError(`PAX hdrcharset ${JSON.stringify(value)} is not supported (names must be UTF-8)`, offset);
    if (key.startsWith('GNU.sparse.')) throw new TarError('GNU sparse files (PAX format) are not supported', offset);
    switch (key) {
      case 'path':
        path = value;
        break;
      case 'linkpath':
        linkpath = value;
        break;
      case 'size':
        size = decimal(key, value);
        break;
      case 'uid':
        uid = decimal(key, value);
        break;
      case 'gid':
        gid = decimal(key, value);
        break;
      case 'uname':
        uname = value;
        break;
      case 'gname':
        gname = value;
        break;
      case 'mtime':
        mtime = parsePaxTime(value, offset);
        break;
      case 'atime':
        atime = parsePaxTime(value, offset);
        break;
      case 'ctime':
        ctime = parsePaxTime(value, offset);
        break;
      default:
        pax.set(key, value);
    }
  }
  const type = typeOf(raw.typeflag);
  if (HEADER_ONLY.has(type)) size = 0;
  return { path, type, typeflag: raw.typeflag, mode: raw.mode, uid, gid, uname, gname, size, mtime, atime, ctime, linkpath, devmajor: raw.devmajor, devminor: raw.devminor, xattrs, pax, offset };
}

/** Bytes held by PAX records (keys and values), to bound what a run of headers can pile up. */
function paxSize(records: PaxRecords): number {
  let total = 0;
  for (const [key, value] of records) total += key.length + value.length;
  return total;
}
