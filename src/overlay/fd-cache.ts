import * as fs from 'node:fs';

/**
 * Open host files by inode, the least recently used closed beyond a limit. A pinned file (one
 * whose last name is gone while the kernel still holds it) is never closed by the limit: its
 * descriptor is the only way left to its bytes.
 */
export class FdCache {
  private readonly fds = new Map<number, number>();
  private readonly pinned = new Set<number>();

  constructor(private readonly limit: number) {}

  get(ino: number): number | undefined {
    return this.fds.get(ino);
  }

  open(ino: number, path: () => string, flags: 'r' | 'r+'): number {
    const fd = this.fds.get(ino);
    if (fd !== undefined) {
      // Most recently used last.
      this.fds.delete(ino);
      this.fds.set(ino, fd);
      return fd;
    }
    const opened = fs.openSync(path(), flags);
    this.fds.set(ino, opened);
    if (this.fds.size > this.limit) this.evict();
    return opened;
  }

  /** Takes a descriptor opened elsewhere (a file just made). */
  adopt(ino: number, fd: number): void {
    this.close(ino);
    this.fds.set(ino, fd);
    if (this.fds.size > this.limit) this.evict();
  }

  pin(ino: number, path: () => string, flags: 'r' | 'r+'): void {
    this.open(ino, path, flags);
    this.pinned.add(ino);
  }

  private evict(): void {
    for (const [ino, fd] of this.fds) {
      if (this.pinned.has(ino)) continue;
      this.fds.delete(ino);
      fs.closeSync(fd);
      return;
    }
  }

  close(ino: number): void {
    const fd = this.fds.get(ino);
    if (fd === undefined) return;
    this.fds.delete(ino);
    this.pinned.delete(ino);
    fs.closeSync(fd);
  }

  closeAll(): void {
    for (const ino of [...this.fds.keys()]) this.close(ino);
  }
}
