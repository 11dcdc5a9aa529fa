import { fileURLToPath } from 'node:url';
import { constants } from './constants.js';
import { ArgumentError, invalidArgType, invalidArgValue, outOfRange } from './errors.js';

/**
 * Argument parsing as Node's fs does it (lib/internal/fs/utils.js): paths as strings, Buffers or
 * file: URLs; string or numeric open flags; modes as numbers or octal strings; option objects or
 * a bare encoding string; times as seconds or Dates. Bad types are Node's own TypeErrors.
 */

export type PathLike = string | Uint8Array | URL;

function isURL(value: unknown): value is URL {
  return value instanceof URL || (typeof value === 'object' && value !== null && 'href' in value && 'protocol' in value && 'pathname' in value);
}

/** The path as a string, the way the caller will see it in error messages. */
export function toPath(value: unknown, name = 'path'): string {
  let path: string;
  if (typeof value === 'string') path = value;
  else if (value instanceof Uint8Array) path = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString();
  else if (isURL(value)) {
    if (value.protocol !== 'file:') throw new ArgumentError('ERR_INVALID_URL_SCHEME', 'The URL must be of scheme file');
    path = fileURLToPath(value);
  } else throw invalidArgType(name, 'of type string or an instance of Buffer or URL', value);
  if (path.includes('\0')) throw invalidArgValue(name, path, 'must be a string, Uint8Array, or URL without null bytes');
  return path;
}

const STRING_FLAGS: Record<string, number> = (() => {
  const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = constants;
  const table: Record<string, number> = {
    r: O_RDONLY,
    rs: O_RDONLY | O_SYNC,
    'r+': O_RDWR,
    'rs+': O_RDWR | O_SYNC,
    w: O_TRUNC | O_CREAT | O_WRONLY,
    wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
    'w+': O_TRUNC | O_CREAT | O_RDWR,
    'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
    a: O_APPEND | O_CREAT | O_WRONLY,
    ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
    as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
    'a+': O_APPEND | O_CREAT | O_RDWR,
    'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
    'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  };
  // Node accepts the letters in either order: 'xw' as 'wx', 'sr' as 'rs'.
  for (const [key, value] of Object.entries({ ...table })) {
    if (key.length >= 2 && key[1] !== '+') table[key[1]! + key[0]! + key.slice(2)] = value;
  }
  return table;
})();

/** Open flags as a number (stringToFlags). */
export function toFlags(value: unknown, fallback: string | number = 'r'): number {
  if (value === undefined || value === null) value = fallback;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const flags = STRING_FLAGS[value];
    if (flags !== undefined) return flags;
  }
  throw invalidArgValue('flags', value);
}

/** A file mode: a uint32 or an octal string (parseFileMode). */
export function toMode(value: unknown, name: string, fallback: number | undefined): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value)) throw invalidArgValue(name, value, 'must be a 32-bit unsigned integer or an octal string');
    return parseInt(value, 8);
  }
  return toUint32(value, name);
}

export function toUint32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > 0xffffffff) throw outOfRange(name, '>= 0 && <= 4294967295', value);
  return value;
}

export function toInt(value: unknown, name: string, min = -0x80000000, max = 0x7fffffff): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function toFd(value: unknown): number {
  return toInt(value, 'fd', 0);
}

/** A file offset: null, -1 and undefined mean "the current position" (returned as null). */
export function toPosition(value: unknown, name = 'position'): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number or bigint', value);
  if (value === -1) return null;
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRange(name, '>= 0 && <= 9007199254740991', value);
  return value;
}

/** A length or size argument (truncate's `len`). */
export function toLength(value: unknown, name: string, fallback = 0): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  return value;
}

export function toEncoding(value: unknown): BufferEncoding | 'buffer' | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'buffer' || (typeof value === 'string' && Buffer.isEncoding(value))) return value as BufferEncoding | 'buffer';
  throw invalidArgValue('encoding', value, 'is invalid encoding');
}

/** An options argument that may be an object, a bare encoding string, or absent (getOptions). */
export function toOptions<T extends object>(value: unknown, defaults: T): T & { encoding?: BufferEncoding | 'buffer' | null } {
  if (value === undefined || value === null || typeof value === 'function') return { ...defaults };
  let options: Record<string, unknown>;
  if (typeof value === 'string') options = { ...(defaults as object), encoding: value };
  else if (typeof value === 'object') options = { ...(defaults as object), ...(value as object) };
  else throw invalidArgType('options', 'one of type string or object', value);
  if (options.encoding !== undefined && options.encoding !== null) toEncoding(options.encoding);
  return options as T & { encoding?: BufferEncoding | 'buffer' | null };
}

export function toFunction(value: unknown, name: string): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
  return value as (...args: never[]) => unknown;
}

export function toBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

export function isBufferSource(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value);
}

export function toBufferSource(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Data for writeFile and appendFile: a string in the given encoding, or bytes. */
export function toData(value: unknown, encoding: BufferEncoding | 'buffer' | null | undefined): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, encoding && encoding !== 'buffer' ? encoding : 'utf8');
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', value);
}

/** Bytes decoded as the caller asked: a string, or a Buffer when no encoding (or 'buffer') is given. */
export function encode(bytes: Uint8Array, encoding: BufferEncoding | 'buffer' | null | undefined): string | Buffer {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding && encoding !== 'buffer' ? buffer.toString(encoding) : buffer;
}

/** A name for readdir, readlink, realpath: a string, or a Buffer with `encoding: 'buffer'`. */
export function encodeName(name: string, encoding: BufferEncoding | 'buffer' | null | undefined): string | Buffer {
  if (encoding === 'buffer') return Buffer.from(name);
  if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return name;
  return Buffer.from(name).toString(encoding);
}

/**
 * Seconds since the epoch as Node's toUnixTimestamp reads them, turned into nanoseconds the way
 * libuv does (uv__fs_to_timespec truncates to microseconds), so times round-trip like on Linux.
 */
export function toTimeNs(value: unknown, name = 'time'): bigint {
  let seconds: number;
  if (typeof value === 'string' && Number(value) == (value as unknown as number)) seconds = Number(value);
  else if (typeof value === 'number' && Number.isFinite(value)) seconds = value < 0 ? Date.now() / 1000 : value;
  else if (value instanceof Date) seconds = value.getTime() / 1000;
  else throw invalidArgType(name, 'an instance of Date or an Time in seconds', value);
  const whole = Math.trunc(seconds);
  let nanos = Math.trunc((seconds - whole) * 1e9);
  nanos -= nanos % 1000;
  let sec = BigInt(whole);
  if (nanos < 0) {
    nanos += 1e9;
    sec -= 1n;
  }
  return sec * 1_000_000_000n + BigInt(nanos);
}


/**
 * The forms of read's arguments after the fd, as readSync, fs.read and FileHandle.read take them:
 * `(buffer, offset, length, position)`, `(buffer, { offset, length, position })`,
 * `({ buffer, offset, length, position })` and `()`. Without a buffer, a 16 KiB one is made (as
 * Node does) unless `requireBuffer`.
 */
export function readArgs(rest: readonly unknown[], requireBuffer: boolean): [ArrayBufferView, number, number, number | null] {
  let [buffer, offset, length, position] = rest;
  let params: Record<string, unknown> | undefined;
  if (!ArrayBuffer.isView(buffer)) {
    if (requireBuffer || (buffer !== undefined && buffer !== null && typeof buffer !== 'object')) {
      throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, or DataView', buffer);
    }
    params = (buffer ?? {}) as Record<string, unknown>;
    buffer = params.buffer ?? Buffer.alloc(16384);
  } else if (rest.length <= 2 && (offset === undefined || offset === null || typeof offset === 'object')) {
    params = (offset ?? {}) as Record<string, unknown>;
  }
  if (params) ({ offset, length, position } = params);
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, or DataView', buffer);
  const at = offset === undefined || offset === null ? 0 : toInt(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const count = length === undefined || length === null ? buffer.byteLength - at : toInt(length, 'length', 0, Number.MAX_SAFE_INTEGER);
  if (at + count > buffer.byteLength) throw outOfRange('length', `<= ${buffer.byteLength - at}`, count);
  return [buffer, at, count, toPosition(position)];
}

/**
 * The forms of write's arguments after the fd: `(buffer, offset?, length?, position?)`,
 * `(buffer, { offset, length, position })` and `(string, position?, encoding?)`. Returns the bytes
 * to write and where (null: the current position).
 */
export function writeArgs(rest: readonly unknown[]): [Uint8Array, number | null] {
  const [data, offset, length, position] = rest;
  if (ArrayBuffer.isView(data)) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let at: unknown = offset;
    let count: unknown = length;
    let where: unknown = position;
    if (offset !== null && typeof offset === 'object') ({ offset: at, length: count, position: where } = offset as Record<string, unknown>);
    const start = typeof at === 'number' ? toInt(at, 'offset', 0, Number.MAX_SAFE_INTEGER) : 0;
    const size = typeof count === 'number' ? count : bytes.byteLength - start;
    if (start > bytes.byteLength) throw outOfRange('offset', `<= ${bytes.byteLength}`, start);
    if (size < 0 || start + size > bytes.byteLength) throw outOfRange('length', `>= 0 && <= ${bytes.byteLength - start}`, size);
    return [bytes.subarray(start, start + size), typeof where === 'number' || typeof where === 'bigint' ? toPosition(where) : null];
  }
  if (typeof data !== 'string') throw invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  const encoding = toEncoding(length) ?? 'utf8';
  return [Buffer.from(data, encoding === 'buffer' ? 'utf8' : encoding), toPosition(offset)];
}
