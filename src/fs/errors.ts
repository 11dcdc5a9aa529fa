import { inspect } from 'node:util';
import { ErrnoError, errnoNumber, type Errno } from '../errno.js';
import { BlobError } from '../store/index.js';

/**
 * The errors of the fs surface besides ErrnoError: Node's argument errors (TypeError and
 * RangeError with an `ERR_*` code, thrown synchronously even by the callback API) and its
 * SystemError (rm of a directory, cp refusals). Messages are Node's word for word.
 */

/** A TypeError or RangeError carrying a Node `ERR_*` code: the caller's mistake, not the filesystem's. */
export class ArgumentError extends TypeError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'TypeError';
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

export class ArgumentRangeError extends RangeError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'RangeError';
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

export function isArgumentError(error: unknown): boolean {
  return error instanceof ArgumentError || error instanceof ArgumentRangeError;
}

/** How Node's internal/errors describes a received value (determineSpecificType). */
export function received(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      return `type number (${value})`;
    case 'boolean':
      return `type boolean (${value})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${value.name}`;
    case 'object': {
      const ctor = (value as { constructor?: { name?: string } }).constructor;
      if (ctor && typeof ctor.name === 'string') return `an instance of ${ctor.name}`;
      return inspect(value, { depth: -1 });
    }
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default:
      return String(value);
  }
}

/** ERR_INVALID_ARG_TYPE; `expected` reads like Node's: 'of type string or an instance of Buffer or URL'. */
export function invalidArgType(name: string, expected: string, value: unknown): ArgumentError {
  const what = name.includes('.') ? 'property' : 'argument';
  return new ArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" ${what} must be ${expected}. Received ${received(value)}`);
}

/** ERR_INVALID_ARG_VALUE: `The argument 'flags' is invalid. Received 'z'`. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): ArgumentError {
  const what = name.includes('.') ? 'property' : 'argument';
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return new ArgumentError('ERR_INVALID_ARG_VALUE', `The ${what} '${name}' ${reason}. Received ${shown}`);
}

export function outOfRange(name: string, range: string, value: unknown): ArgumentRangeError {
  return new ArgumentRangeError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
}

export interface SystemErrorInfo {
  code: Errno;
  message: string;
  path: string;
  syscall: string;
  dest?: string;
}

/**
 * Node's SystemError, as rm and cp throw it: `code` is an `ERR_FS_*` key, the errno code sits in
 * `info`, and `errno` is positive (Node takes it from the info unchanged).
 */
export class SystemError extends Error {
  readonly code: string;
  readonly info: SystemErrorInfo & { errno: number };
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;
  readonly dest: string | undefined;

  constructor(key: string, prefix: string, info: SystemErrorInfo, errno = errnoNumber(info.code)) {
    let message = `${prefix}: ${info.syscall} returned ${info.code} (${info.message}) ${info.path}`;
    if (info.dest !== undefined) message += ` => ${info.dest}`;
    super(message);
    this.name = 'SystemError';
    this.code = key;
    this.info = { ...info, errno };
    this.errno = errno;
    this.syscall = info.syscall;
    this.path = info.path;
    this.dest = info.dest;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/**
 * Stamps the syscall and the caller's own paths on an error from the core, as Node reports them
 * (a relative path stays relative). A store fault reaches the caller as EIO with the fault as
 * `cause` (STYLE: store faults are EIO at the edge).
 */
export function edge(error: unknown, syscall: string, path?: string, dest?: string): unknown {
  if (error instanceof ErrnoError) return error.at(syscall, path, dest);
  if (error instanceof BlobError) return new ErrnoError('EIO', { cause: error, detail: error.message }).at(syscall, path, dest);
  return error;
}

/** A fresh ErrnoError stamped at once: `fail('EBADF', 'read')`. */
export function fail(code: Errno, syscall: string, path?: string, dest?: string): ErrnoError {
  return new ErrnoError(code).at(syscall, path, dest);
}
