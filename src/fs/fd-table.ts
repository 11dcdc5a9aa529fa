import { fail } from './errors.js';

/** One open file description: what open(2) returns a number for. */
export interface OpenFile {
  readonly ino: number;
  readonly flags: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** O_APPEND: every write goes to the end, whatever the position (Linux does this for pwrite too). */
  readonly append: boolean;
  /** The current file offset, used by reads and writes without a position. */
  position: number;
  /** The absolute path the file was opened by, for change events of writes through the fd. */
  readonly path: string;
}

/**
 * File descriptors of one fs object. Numbers start at 3, as in a process whose 0-2 are stdio,
 * and freed numbers are reused lowest first like POSIX, so an fd never collides with a live one.
 */
export class FdTable {
  private readonly files: (OpenFile | undefined)[] = [];
  private lowestFree = FIRST_FD;

  add(file: OpenFile): number {
    let fd = this.lowestFree;
    while (this.files[fd] !== undefined) fd++;
    this.files[fd] = file;
    this.lowestFree = fd + 1;
    return fd;
  }

  /** The open file behind `fd`, or EBADF stamped with the syscall that asked. */
  get(fd: number, syscall: string): OpenFile {
    const file = this.files[fd];
    if (file === undefined) throw fail('EBADF', syscall);
    return file;
  }

  remove(fd: number, syscall: string): OpenFile {
    const file = this.get(fd, syscall);
    this.files[fd] = undefined;
    if (fd < this.lowestFree) this.lowestFree = fd;
    return file;
  }

  get size(): number {
    return this.files.filter((file) => file !== undefined).length;
  }
}

export const FIRST_FD = 3;
