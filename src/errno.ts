/**
 * POSIX errors shaped like Node's: `code`, negative `errno`, `syscall`, `path`, `dest`, and the
 * message `ENOENT: no such file or directory, open '/a'`. union/ and container/ throw the code and
 * the path they know; front ends stamp `syscall` at the edge.
 */

const DESCRIPTIONS = {
  EPERM: [1, 'operation not permitted'],
  ENOENT: [2, 'no such file or directory'],
  EIO: [5, 'i/o error'],
  EBADF: [9, 'bad file descriptor'],
  EACCES: [13, 'permission denied'],
  EBUSY: [16, 'resource busy or locked'],
  EEXIST: [17, 'file already exists'],
  EXDEV: [18, 'cross-device link not permitted'],
  ENODEV: [19, 'no such device'],
  ENOTDIR: [20, 'not a directory'],
  EISDIR: [21, 'illegal operation on a directory'],
  EINVAL: [22, 'invalid argument'],
  EFBIG: [27, 'file too large'],
  ENOSPC: [28, 'no space left on device'],
  EROFS: [30, 'read-only file system'],
  EMLINK: [31, 'too many links'],
  ERANGE: [34, 'result too large'],
  ENAMETOOLONG: [36, 'name too long'],
  ENOSYS: [38, 'function not implemented'],
  ENOTEMPTY: [39, 'directory not empty'],
  ELOOP: [40, 'too many symbolic links encountered'],
  ENODATA: [61, 'no data available'],
  ENOTSUP: [95, 'operation not supported on socket'],
  ESTALE: [116, 'stale file handle'],
} as const satisfies Record<string, readonly [number, string]>;

export type Errno = keyof typeof DESCRIPTIONS;

export interface ErrnoDetails {
  syscall?: string;
  path?: string;
  dest?: string;
  cause?: unknown;
  /** What went wrong beyond the code, appended to the message: `(blob xxh64:… is corrupt)`. */
  detail?: string;
}

export class ErrnoError extends Error {
  readonly code: Errno;
  readonly errno: number;
  syscall: string | undefined;
  path: string | undefined;
  dest: string | undefined;
  readonly detail: string | undefined;

  constructor(code: Errno, details: ErrnoDetails = {}) {
    super('', details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'Error';
    this.code = code;
    this.errno = -DESCRIPTIONS[code][0];
    this.syscall = details.syscall;
    this.path = details.path;
    this.dest = details.dest;
    this.detail = details.detail;
    this.message = this.describe();
  }

  /** Stamps the syscall (and paths, where the core did not know them) as Node would report them. */
  at(syscall: string, path?: string, dest?: string): this {
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
    this.message = this.describe();
    return this;
  }

  private describe(): string {
    let message = `${this.code}: ${DESCRIPTIONS[this.code][1]}`;
    if (this.syscall) message += `, ${this.syscall}`;
    if (this.path !== undefined) message += ` '${this.path}'`;
    if (this.dest !== undefined) message += ` -> '${this.dest}'`;
    if (this.detail !== undefined) message += ` (${this.detail})`;
    return message;
  }
}

export function isErrno(error: unknown, code?: Errno): error is ErrnoError {
  return error instanceof ErrnoError && (code === undefined || error.code === code);
}

/** The positive errno number of a code, as FUSE and the kernel use it. */
export function errnoNumber(code: Errno): number {
  return DESCRIPTIONS[code][0];
}

/** The code of a positive errno number, where this project names it. */
export function errnoCode(errno: number): Errno | undefined {
  return (Object.keys(DESCRIPTIONS) as Errno[]).find((code) => DESCRIPTIONS[code][0] === errno);
}
