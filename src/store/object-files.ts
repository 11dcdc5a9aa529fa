import * as fs from 'node:fs';

/** Objects kept open at once: a file read in order goes back to the same one again and again. */
const OPEN_OBJECTS = 16;

/** Read-only descriptors of the objects read last (objects never change once published). */
export class ObjectFiles {
  private readonly open = new Map<string, number>();

  constructor(private readonly pathOf: (key: string) => string) {}

  /** A descriptor of the object, or undefined when its file is missing. */
  fd(key: string): number | undefined {
    let fd = this.open.get(key);
    if (fd !== undefined) {
      // Most recently used last.
      this.open.delete(key);
      this.open.set(key, fd);
      return fd;
    }
    try {
      fd = fs.openSync(this.pathOf(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    this.open.set(key, fd);
    if (this.open.size > OPEN_OBJECTS) this.close(this.open.keys().next().value!);
    return fd;
  }

  close(key: string): void {
    const fd = this.open.get(key);
    if (fd === undefined) return;
    this.open.delete(key);
    fs.closeSync(fd);
  }
}
