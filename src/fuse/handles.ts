/** Open files of a mount: the number FUSE hands back to us for each open, and its inode. */
export class HandleTable {
  private readonly handles = new Map<number, number>();
  private next = 1;

  open(ino: number): number {
    const fd = this.next++;
    this.handles.set(fd, ino);
    return fd;
  }

  /** The inode of an open file; undefined for a handle this mount never gave out. */
  ino(fd: number): number | undefined {
    return this.handles.get(fd);
  }

  close(fd: number): number | undefined {
    const ino = this.handles.get(fd);
    this.handles.delete(fd);
    return ino;
  }

  get size(): number {
    return this.handles.size;
  }
}
