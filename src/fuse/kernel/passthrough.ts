import { errnoCode, errnoNumber } from '../../errno.js';
import type { FuseDevice } from './native.js';
import { FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH, Init2 } from './protocol.js';

const EPERM = errnoNumber('EPERM');
/** Text file busy (errno.ts names only what the union throws). */
const ETXTBSY = 26;
/** O_ACCMODE of open(2)'s flags: O_RDONLY is 0. */
const ACCESS_MODE = 3;
const O_TRUNC = 0o1000;
/** The file handle of an open the kernel passes through; RELEASE tells them apart. */
const PASSTHROUGH_FH = 1;
/** The file handle of an open whose reads and writes come to the daemon. */
const SERVED_FH = 2;

/** An OPEN's answer: fuse_open_out's fields, or an errno (ENOSYS: opens are zero-message from now on). */
export type OpenAnswer = OpenFile | { errno: number };
export interface OpenFile {
  fh: number;
  flags: number;
  backingId: number;
}

/** Makes a private file for a writer to write through (writeBacking), and drops it if the kernel refuses it. */
export interface WriteBackings {
  make(): string | undefined;
  drop(): void;
}

/**
 * FUSE passthrough (protocol 7.40) for one connection: which opens the kernel serves from a
 * backing file by itself, and the backing ids registered for them. The kernel keeps one backing
 * file per inode and wants every open of the inode passed through while one is, so a node keeps
 * its id until the kernel forgets the node, and a writer waits until passed-through readers are
 * gone. A shared backing file (a store object) is never written: its writers come to the daemon,
 * which copies up. A writer of an empty file no one else has open gets a private backing file
 * instead, written by the kernel directly, until the last open of it is released.
 */
export class Passthrough {
  /** Negotiated at INIT ('untold' until the first backing file says whether the kernel takes them). */
  private state: 'on' | 'off' | 'untold' = 'off';
  private readonly backings = new Map<number, { path: string; id: number; writable: boolean }>();
  /** Open files of each node until their RELEASE: passed through, or served by the daemon. */
  private readonly opens = new Map<number, { passedThrough: number; served: number }>();

  constructor(
    private readonly device: FuseDevice,
    private readonly fd: () => number,
    private readonly wanted: boolean,
    private readonly log: (line: string) => void,
  ) {}

  get active(): boolean {
    return this.state !== 'off';
  }

  /** At INIT: the flags2 to answer (0: not negotiated), from the kernel's offer. */
  negotiate(offered2: number): number {
    if (!this.wanted) return 0;
    if ((offered2 & Init2.PASSTHROUGH) === 0 || !this.device.backingOpen) {
      const why = this.device.backingOpen ? 'this kernel does not offer it (Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH)' : 'the FUSE addon is too old (npm install rebuilds it)';
      this.log(`layerfs: FUSE passthrough off: ${why}; reads go through the daemon`);
      return 0;
    }
    this.state = 'untold';
    // A program may mmap a file opened for writing next to one the kernel passes through.
    return Init2.PASSTHROUGH | (offered2 & Init2.DIRECT_IO_ALLOW_MMAP);
  }

  /**
   * An OPEN (or a CREATE) of `node` with open(2)'s `flags`; `backing` is the shared file holding
   * its bytes, if any, and `writer` makes a private one for a writer where the node allows it.
   * A writer of a file that could be passed through opens direct-io: out of the kernel's cached
   * io mode, which would refuse a reader's passthrough open meanwhile.
   */
  open(node: number, flags: number, backing: string | undefined, writer?: WriteBackings): OpenAnswer {
    const known = this.backings.get(node);
    // Written through a private file: every open of the node goes there.
    if (known?.writable) return passedThrough(known.id);
    const writable = (flags & ACCESS_MODE) !== 0 || (flags & O_TRUNC) !== 0;
    const opens = this.opens.get(node);
    if (writable && (opens?.passedThrough ?? 0) > 0) return { errno: ETXTBSY };
    if (writable && writer && opens === undefined) {
      const path = writer.make();
      if (path !== undefined) {
        const id = this.backingId(node, path, true);
        if (id > 0) return passedThrough(id);
        writer.drop();
        if (this.state === 'off') return { errno: errnoNumber('ENOSYS') };
      }
    }
    if (backing !== undefined && !writable) {
      const id = this.backingId(node, backing, false);
      if (id > 0) return passedThrough(id);
      // The first backing file refused: passthrough is off, and ENOSYS makes opens zero-message again.
      if (this.state === 'off') return { errno: errnoNumber('ENOSYS') };
    }
    return { fh: SERVED_FH, flags: writable && backing !== undefined ? FOPEN_DIRECT_IO : FOPEN_KEEP_CACHE, backingId: 0 };
  }

  /** The kernel took the answer of an open. */
  opened(node: number, answer: OpenAnswer): void {
    if (!('fh' in answer)) return;
    const opens = this.opens.get(node) ?? { passedThrough: 0, served: 0 };
    if (answer.fh === PASSTHROUGH_FH) opens.passedThrough++;
    else opens.served++;
    this.opens.set(node, opens);
  }

  /**
   * A RELEASE: true when it closed the last open of a node written through a private file, whose
   * id is then forgotten (the daemon takes the file's bytes and removes it).
   */
  released(node: number, fh: number): boolean {
    const opens = this.opens.get(node);
    if (!opens || (fh !== PASSTHROUGH_FH && fh !== SERVED_FH)) return false;
    if (fh === PASSTHROUGH_FH) opens.passedThrough--;
    else opens.served--;
    if (opens.passedThrough + opens.served > 0) return false;
    this.opens.delete(node);
    return this.unused(node);
  }

  /**
   * An open answer the kernel did not take (the request was interrupted): true when it leaves a
   * private file nobody has open, forgotten as on the last RELEASE.
   */
  unused(node: number): boolean {
    if (this.opens.has(node) || !this.backings.get(node)?.writable) return false;
    this.forget(node);
    return true;
  }

  /** The kernel forgot the node: its backing id goes (files open on it keep their backing file). */
  forget(node: number): void {
    const known = this.backings.get(node);
    if (!known) return;
    this.backings.delete(node);
    this.device.backingClose?.(this.fd(), known.id);
  }

  /** The node's backing id (registered now if need be), or a negative errno. */
  private backingId(node: number, path: string, writable: boolean): number {
    const known = this.backings.get(node);
    if (known?.path === path && known.writable === writable) return known.id;
    this.forget(node);
    const id = this.device.backingOpen!(this.fd(), path, writable);
    if (id > 0) {
      this.backings.set(node, { path, id, writable });
      if (this.state === 'untold') this.log('layerfs: FUSE passthrough on: the kernel reads unchanged lower files and writes new files directly');
      this.state = 'on';
    } else if (this.state === 'untold') {
      const why = -id === EPERM ? 'registering a backing file needs CAP_SYS_ADMIN' : `the kernel refused a backing file (${errnoCode(-id) ?? `errno ${-id}`}: ${path})`;
      this.log(`layerfs: FUSE passthrough off: ${why}; reads go through the daemon`);
      this.state = 'off';
    }
    return id;
  }
}

function passedThrough(id: number): OpenAnswer {
  return { fh: PASSTHROUGH_FH, flags: FOPEN_PASSTHROUGH, backingId: id };
}
