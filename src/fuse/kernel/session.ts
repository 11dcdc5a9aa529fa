import { ErrnoError, errnoCode, errnoNumber } from '../../errno.js';
import { type FuseDevice, MOUNT_NODEV, MOUNT_NOSUID, fuseDevice } from './native.js';
import { resumeAt } from './listing.js';
import { type OpenFile, Passthrough, type WriteBackings } from './passthrough.js';
import type { AttrChanges, Caller, NodeChange, NodeOps } from './node-ops.js';
import {
  ATTR_OUT,
  type Attr,
  DIRENT,
  ENTRY_OUT,
  FOPEN_KEEP_CACHE,
  IN_HEADER,
  INIT_OUT,
  Init,
  KERNEL_MAJOR,
  KERNEL_MINOR,
  MAX_WRITE,
  NOTIFY_INVAL_ENTRY,
  NOTIFY_INVAL_INODE,
  NO_REPLY,
  OPEN_OUT,
  OP_NAMES,
  OUT_HEADER,
  Op,
  PASSTHROUGH_MINOR,
  REQUEST_BUFFER,
  STATFS_OUT,
  SetattrValid,
  WRITE_KILL_SUIDGID,
  direntSize,
  direntType,
  getU64,
  setAttr,
  setEntry,
  setTimeout,
  setU64,
} from './protocol.js';

export interface SessionOptions {
  /** How long the kernel may trust names and attributes, in seconds (0: ask every time). */
  cacheSeconds: number;
  /** Let users other than the mounting one in. */
  allowOther: boolean;
  /**
   * The kernel gathers writes in its page cache and owns sizes and mtimes of regular files from
   * then on: fast writes, but a change made through the in-memory API no longer shows its size.
   */
  writebackCache: boolean;
  /** Honour setuid bits and device files (mount(2) without MS_NOSUID, MS_NODEV): a root filesystem needs them. */
  suid: boolean;
  dev: boolean;
  /** What `mount` and /proc/mounts show as the source, `layerfs:NAME` (no commas or spaces). */
  source: string;
  /** Logs every request and its answer. */
  debug: boolean;
  /** Something that is not an ErrnoError went wrong: a bug, answered as EIO. */
  onError: (error: unknown, op: string, node: number) => void;
  /**
   * Ask for FUSE passthrough: files the ops give a backing file for are read by the kernel from
   * it directly. Needs Linux 6.9+ (protocol 7.40) and CAP_SYS_ADMIN; falls back to read() else.
   */
  passthrough?: boolean;
  /** Told once whether passthrough is on, and why not. */
  log?: (line: string) => void;
}

/** A union has no fixed capacity: it reports a large, mostly free volume so programs write. */
const STATFS = { blocks: 2 ** 31, bfree: 2 ** 30, bavail: 2 ** 30, files: 2 ** 31, ffree: 2 ** 30, bsize: 4096, namelen: 255 };

const EAGAIN = 11;
const EINTR = 4;
const ENOENT = 2;
const ENOSYS = errnoNumber('ENOSYS');
const ENODATA = errnoNumber('ENODATA');
const ERANGE = errnoNumber('ERANGE');
const EIO = errnoNumber('EIO');
const ROOT = 1;
/** A created file's open without passthrough: no handle (files are used by inode), cache kept. */
const CREATED: OpenFile = { fh: 0, flags: FOPEN_KEEP_CACHE, backingId: 0 };
/** Requests answered per wake-up before the event loop gets a turn (timers, saves). */
const BATCH = 64;

const WANTED =
  Init.ASYNC_READ |
  Init.BIG_WRITES |
  Init.AUTO_INVAL_DATA |
  Init.DO_READDIRPLUS |
  Init.PARALLEL_DIROPS |
  // The kernel caches ACLs (none: getxattr answers ENODATA, setxattr refuses them), so `ls -l`
  // asks once per file, not on every listing.
  Init.POSIX_ACL |
  Init.MAX_PAGES |
  Init.CACHE_SYMLINKS |
  // We drop setuid, setgid and capabilities on write, truncate and chown when the kernel says,
  // so it need not ask for security.capability before every write(2) (a round trip each).
  Init.HANDLE_KILLPRIV_V2;

/**
 * One FUSE connection, served on the JavaScript thread: the native addon reports the device
 * readable, and each request is read, answered by the NodeOps and replied to before the next;
 * only a READ whose bytes are still on their way (readReady) is answered later, the others
 * meanwhile. This file knows the protocol and nothing of unions.
 */
export class Session {
  private readonly input = Buffer.allocUnsafe(REQUEST_BUFFER);
  private readonly in = new DataView(this.input.buffer, this.input.byteOffset, this.input.length);
  private readonly output = Buffer.allocUnsafe(OUT_HEADER + MAX_WRITE);
  private readonly out = new DataView(this.output.buffer, this.output.byteOffset, this.output.length);
  private readonly counts = new Float64Array(64);
  /** The kernel's references to each inode (its nlookup), which FORGET gives back. */
  private readonly references = new Map<number, number>();
  private watch: unknown;
  /** True while a request is answered: changes then come from the kernel, which knows them. */
  private serving = false;
  /** Changes made behind the kernel's back, told to it on the next turn of the event loop. */
  private readonly staleNodes = new Set<number>();
  private readonly staleNames = new Map<string, { parent: number; name: string }>();
  private notifying = false;
  private readonly stopObserving: () => void;
  private readonly passthrough: Passthrough;
  private ready!: () => void;
  private ended!: () => void;
  /** Resolves when the kernel has taken INIT's answer: the mount is live. */
  readonly live = new Promise<void>((resolve) => (this.ready = resolve));
  /** Resolves when the connection is gone: unmounted, by us or anyone. */
  readonly closed = new Promise<void>((resolve) => (this.ended = resolve));

  private constructor(
    private readonly device: FuseDevice,
    private fd: number,
    readonly mountpoint: string,
    private readonly ops: NodeOps,
    private readonly options: SessionOptions,
  ) {
    this.passthrough = new Passthrough(device, () => this.fd, options.passthrough === true, options.log ?? (() => {}));
    this.watch = device.watch(fd, this.readable);
    this.stopObserving = ops.observe(this.changed);
  }

  /**
   * Mounts `ops` at `mountpoint`; resolves once the kernel has initialized the connection.
   * `device` is the native addon; tests pass a stand-in that plays the kernel.
   */
  static async mount(mountpoint: string, ops: NodeOps, options: SessionOptions, device: FuseDevice | Error = fuseDevice()): Promise<Session> {
    if (device instanceof Error) throw device;
    const flags = ['default_permissions', ...(options.allowOther ? ['allow_other'] : [])];
    const mountFlags = (options.suid ? 0 : MOUNT_NOSUID) | (options.dev ? 0 : MOUNT_NODEV);
    const fd = device.mount(mountpoint, options.source, flags.join(','), mountFlags);
    if (fd < 0) {
      const error = systemError(-fd, 'mount', mountpoint);
      // Users who may not mount go through the setuid fusermount3, which said why on stderr.
      if (error.code === 'EPERM' || error.code === 'EACCES') error.message += ': mounting needs root, or fuse3\'s fusermount3 (setuid) for other users';
      throw error;
    }
    const session = new Session(device, fd, mountpoint, ops, options);
    await Promise.race([session.live, session.closed]);
    return session;
  }

  /** Unmounts (EBUSY while a program uses the mount). */
  async unmount(): Promise<void> {
    if (this.fd >= 0) {
      const result = this.device.unmount(this.mountpoint, false);
      if (result < 0) throw systemError(-result, 'umount', this.mountpoint);
    }
    this.end();
    await this.closed;
  }

  /** Requests answered so far, by op. */
  requests(): Record<string, number> {
    const counts: Record<string, number> = {};
    this.counts.forEach((count, op) => {
      if (count > 0) counts[OP_NAMES.get(op) ?? `op${op}`] = count;
    });
    return counts;
  }

  private end(): void {
    if (this.fd < 0) return;
    this.stopObserving();
    this.device.unwatch(this.watch);
    this.device.close(this.fd);
    this.fd = -1;
    // The kernel holds nothing any more: what it held (unlinked files among them) is let go.
    for (const node of this.references.keys()) {
      try {
        this.ops.forget(node);
      } catch (error) {
        this.options.onError(error, 'forget', node);
      }
    }
    this.references.clear();
    this.ended();
  }

  private readonly readable = (): void => {
    for (let i = 0; i < BATCH && this.fd >= 0; i++) {
      const length = this.device.read(this.fd, this.input);
      if (length > 0) this.dispatch();
      else if (length === -EAGAIN) return;
      else if (length !== -ENOENT && length !== -EINTR) return this.end(); // ENODEV: unmounted
    }
  };

  // ---- replies ---------------------------------------------------------------------------------

  /** Sends the answer; false when the request was withdrawn meanwhile (interrupted). */
  private reply(bodyLength: number, error = 0): boolean {
    this.input.copy(this.output, 8, 8, 16); // unique
    return this.send(this.output, bodyLength, error);
  }

  /** Sends `message` (its unique already in place) with the header filled in. */
  private send(message: Buffer, bodyLength: number, error: number): boolean {
    message.writeUInt32LE(OUT_HEADER + bodyLength, 0);
    message.writeInt32LE(-error, 4);
    return this.device.write(this.fd, message.subarray(0, OUT_HEADER + bodyLength)) === 0;
  }

  /**
   * A READ whose bytes are on their way (a lazily pulled chunk): answered under its own unique
   * once they are in, while other requests are served, so several readers' fetches overlap.
   */
  private readLater(waiting: Promise<void>, node: number, position: number, size: number): void {
    const message = Buffer.allocUnsafe(OUT_HEADER + size);
    this.input.copy(message, 8, 8, 16); // unique
    const answer = (read: () => number) => {
      if (this.fd < 0) return;
      let length = 0;
      let error = 0;
      this.serving = true;
      try {
        length = read();
      } catch (problem) {
        error = problem instanceof ErrnoError ? -problem.errno : EIO;
        if (!(problem instanceof ErrnoError)) this.options.onError(problem, 'read', node);
      } finally {
        this.serving = false;
      }
      this.send(message, error ? 0 : length, error);
    };
    waiting.then(
      () => answer(() => this.ops.read(node, position, size, message, OUT_HEADER)),
      (problem: unknown) =>
        answer(() => {
          throw problem;
        }),
    );
  }

  /** Counts a reference the kernel took with an answer that named an inode. */
  private retain(node: number): void {
    const count = this.references.get(node);
    this.references.set(node, (count ?? 0) + 1);
    if (count === undefined) this.ops.retain(node);
  }

  private forget(node: number, count: number): void {
    const left = (this.references.get(node) ?? 0) - count;
    if (left > 0) return void this.references.set(node, left);
    this.passthrough.forget(node);
    if (this.references.delete(node)) this.ops.forget(node);
  }

  private fail(errno: number): void {
    this.reply(0, errno);
  }

  /** An entry answer (lookup, mkdir, create…), with an open file's answer after it for create. */
  private entryReply(attr: Attr, created?: OpenFile): void {
    setEntry(this.out, OUT_HEADER, attr, this.options.cacheSeconds);
    if (created) this.openReply(OUT_HEADER + ENTRY_OUT, created);
    if (!this.reply(ENTRY_OUT + (created ? OPEN_OUT : 0))) return void (created && this.notOpened(attr.ino));
    this.retain(attr.ino);
    if (created) this.passthrough.opened(attr.ino, created);
  }

  private attrReply(attr: Attr): void {
    setTimeout(this.out, OUT_HEADER, OUT_HEADER + 8, this.options.cacheSeconds);
    this.out.setUint32(OUT_HEADER + 12, 0, true);
    setAttr(this.out, OUT_HEADER + 16, attr);
    this.reply(ATTR_OUT);
  }

  /** struct fuse_open_out: the handle (files are used by inode: it only says how they were opened), flags and backing id. */
  private openReply(at: number, answer: OpenFile): void {
    setU64(this.out, at, answer.fh);
    this.out.setUint32(at + 8, answer.flags, true);
    this.out.setInt32(at + 12, answer.backingId, true);
  }

  private bytesReply(bytes: Uint8Array): void {
    this.output.set(bytes, OUT_HEADER);
    this.reply(bytes.length);
  }

  /** getxattr and listxattr: the size alone when asked with size 0, else the bytes (ERANGE if they do not fit). */
  private sizedReply(bytes: Uint8Array, size: number): void {
    if (size === 0) {
      this.out.setUint32(OUT_HEADER, bytes.length, true);
      this.out.setUint32(OUT_HEADER + 4, 0, true);
      this.reply(8);
      return;
    }
    if (bytes.length > size) return this.fail(ERANGE);
    this.bytesReply(bytes);
  }

  // ---- requests --------------------------------------------------------------------------------

  /** The NUL-terminated string at `at`, and where the next one starts. */
  private string(at: number): [string, number] {
    const end = this.input.indexOf(0, at);
    return [this.input.toString('utf8', at, end), end + 1];
  }

  private dispatch(): void {
    const opcode = this.in.getUint32(4, true);
    const node = getU64(this.in, 16);
    if (opcode < this.counts.length) this.counts[opcode]!++;
    if (this.options.debug) console.error(`fuse: ${OP_NAMES.get(opcode) ?? opcode} node ${node}`);
    this.serving = true;
    try {
      if (NO_REPLY.has(opcode)) return this.noReply(opcode, node);
      this.answer(opcode, node);
    } catch (error) {
      if (NO_REPLY.has(opcode)) return this.options.onError(error, OP_NAMES.get(opcode) ?? String(opcode), node);
      if (error instanceof ErrnoError) return this.fail(-error.errno);
      this.options.onError(error, OP_NAMES.get(opcode) ?? String(opcode), node);
      this.fail(EIO);
    } finally {
      this.serving = false;
    }
  }

  // ---- invalidation ----------------------------------------------------------------------------

  /** A change: one made behind the kernel's back (the in-memory API) makes its caches stale. */
  private readonly changed = (change: NodeChange): void => {
    if (this.serving || this.fd < 0) return;
    const known = (node: number) => node === ROOT || this.references.has(node);
    if (change.node !== undefined) {
      if (!known(change.node)) return;
      this.staleNodes.add(change.node);
    } else {
      if (!known(change.parent)) return;
      this.staleNames.set(`${change.parent}/${change.name}`, change);
    }
    this.notifySoon();
  };

  private notifySoon(): void {
    if (!this.notifying) {
      this.notifying = true;
      setImmediate(this.notify);
    }
  }

  /** Tells the kernel what went stale (written off this thread: the kernel may wait for answers). */
  private readonly notify = (): void => {
    this.notifying = false;
    if (this.fd < 0) return;
    /** A notification: a header carrying its code (unique 0), then a zeroed body to fill. */
    const notice = (code: number, bodyLength: number) => {
      const message = Buffer.alloc(OUT_HEADER + bodyLength);
      const view = new DataView(message.buffer, message.byteOffset, message.length);
      view.setUint32(0, message.length, true);
      view.setInt32(4, code, true);
      return { message, view };
    };
    for (const node of this.staleNodes) {
      const { message, view } = notice(NOTIFY_INVAL_INODE, 24);
      setU64(view, OUT_HEADER, node); // offset 0, length 0: attributes and every cached page
      this.device.notify(this.fd, message);
    }
    for (const { parent, name } of this.staleNames.values()) {
      const nameBytes = Buffer.byteLength(name);
      const { message, view } = notice(NOTIFY_INVAL_ENTRY, 16 + nameBytes + 1);
      setU64(view, OUT_HEADER, parent);
      view.setUint32(OUT_HEADER + 8, nameBytes, true);
      message.write(name, OUT_HEADER + 16, 'utf8');
      this.device.notify(this.fd, message);
    }
    this.staleNodes.clear();
    this.staleNames.clear();
  };

  private noReply(opcode: number, node: number): void {
    const { in: args } = this;
    if (opcode === Op.FORGET) return this.forget(node, getU64(args, IN_HEADER));
    if (opcode !== Op.BATCH_FORGET) return; // INTERRUPT: every request is answered at once anyway
    const count = args.getUint32(IN_HEADER, true);
    for (let i = 0, at = IN_HEADER + 8; i < count; i++, at += 16) this.forget(getU64(args, at), getU64(args, at + 8));
  }

  /** Answers one request (what it returns is of no interest: a switch of returns reads best). */
  private answer(opcode: number, node: number): unknown {
    const { in: args, ops } = this;
    const at = IN_HEADER;
    switch (opcode) {
      case Op.INIT:
        return this.init();
      case Op.DESTROY:
        return this.reply(0);
      case Op.LOOKUP: {
        const attr = ops.lookup(node, this.string(at)[0]);
        if (attr) return this.entryReply(attr);
        // A miss the kernel may remember (the name a program is about to create is looked up
        // first), for a second at most: a name may appear that nobody tells the kernel about
        // (a container created by another process under `mount --all`).
        if (this.options.cacheSeconds === 0) return this.fail(ENOENT);
        setEntry(this.out, OUT_HEADER, undefined, Math.min(this.options.cacheSeconds, 1));
        return this.reply(ENTRY_OUT);
      }
      case Op.GETATTR:
        return this.attrReply(ops.getattr(node));
      case Op.SETATTR:
        return this.setattr(node);
      case Op.READLINK:
        return this.bytesReply(Buffer.from(ops.readlink(node)));
      case Op.SYMLINK: {
        const [name, next] = this.string(at);
        return this.entryReply(ops.symlink(node, name, this.string(next)[0], this.caller()));
      }
      case Op.MKNOD: {
        const name = this.string(at + 16)[0];
        return this.entryReply(ops.mknod(node, name, args.getUint32(at, true), args.getUint32(at + 4, true), this.caller()));
      }
      case Op.MKDIR:
        return this.entryReply(ops.mkdir(node, this.string(at + 8)[0], args.getUint32(at, true), this.caller()));
      case Op.UNLINK:
        ops.unlink(node, this.string(at)[0]);
        return this.reply(0);
      case Op.RMDIR:
        ops.rmdir(node, this.string(at)[0]);
        return this.reply(0);
      case Op.RENAME:
      case Op.RENAME2: {
        const two = opcode === Op.RENAME2;
        const [name, next] = this.string(at + (two ? 16 : 8));
        ops.rename(node, name, getU64(args, at), this.string(next)[0], two ? args.getUint32(at + 8, true) : 0);
        return this.reply(0);
      }
      case Op.LINK:
        return this.entryReply(ops.link(getU64(args, at), node, this.string(at + 8)[0]));
      case Op.OPEN:
        if (this.passthrough.active) return this.open(node, args.getUint32(at, true));
        return this.fail(ENOSYS);
      case Op.OPENDIR:
        // Zero-message open: answered ENOSYS once, the kernel opens and closes files (and
        // directories) by itself from then on: no OPEN, RELEASE, OPENDIR or RELEASEDIR. With
        // passthrough, files are opened with a request (the answer names the backing file).
        return this.fail(ENOSYS);
      case Op.CREATE: {
        const attr = ops.create(node, this.string(at + 16)[0], args.getUint32(at + 4, true), this.caller());
        return this.entryReply(attr, this.passthrough.active ? this.openAnswer(attr.ino, args.getUint32(at, true)) : CREATED);
      }
      case Op.READ: {
        const size = Math.min(args.getUint32(at + 16, true), MAX_WRITE);
        const position = getU64(args, at + 8);
        const waiting = ops.readReady?.(node, position, size);
        if (waiting) return this.readLater(waiting, node, position, size);
        return this.reply(ops.read(node, position, size, this.output, OUT_HEADER));
      }
      case Op.WRITE: {
        const size = args.getUint32(at + 16, true);
        const data = this.input.subarray(at + 40, at + 40 + size);
        const kill = (args.getUint32(at + 20, true) & WRITE_KILL_SUIDGID) !== 0;
        const written = ops.write(node, getU64(args, at + 8), data, kill ? this.caller() : undefined);
        // The mode may have lost set-id bits the kernel does not know of: it asks again.
        if (kill) {
          this.staleNodes.add(node);
          this.notifySoon();
        }
        this.out.setUint32(OUT_HEADER, written, true);
        this.out.setUint32(OUT_HEADER + 4, 0, true);
        return this.reply(8);
      }
      case Op.RELEASE: // of a file made by CREATE, or opened with passthrough on
        if (this.passthrough.released(node, getU64(args, at))) ops.releaseWriteBacking?.(node);
        return this.reply(0);
      case Op.READDIR:
      case Op.READDIRPLUS:
        return this.readdir(node, opcode === Op.READDIRPLUS);
      case Op.FSYNC:
      case Op.FSYNCDIR:
        ops.fsync(node);
        return this.reply(0);
      case Op.STATFS:
        return this.statfs(node);
      case Op.SETXATTR: {
        const size = args.getUint32(at, true);
        const [name, value] = this.string(at + 8);
        ops.setxattr(node, name, this.input.subarray(value, value + size), args.getUint32(at + 4, true));
        return this.reply(0);
      }
      case Op.GETXATTR: {
        const value = ops.getxattr(node, this.string(at + 8)[0]);
        // Asked before every write (security.capability): a miss is the usual answer, no ErrnoError.
        if (value === undefined) return this.fail(ENODATA);
        return this.sizedReply(value, args.getUint32(at, true));
      }
      case Op.LISTXATTR: {
        const names = ops.listxattr(node);
        return this.sizedReply(Buffer.from(names.map((name) => `${name}\0`).join('')), args.getUint32(at, true));
      }
      case Op.REMOVEXATTR:
        ops.removexattr(node, this.string(at)[0]);
        return this.reply(0);
      case Op.ACCESS:
        ops.access(node);
        return this.reply(0);
      default:
        // FLUSH among them: answered ENOSYS once, the kernel stops sending it on every close.
        return this.fail(ENOSYS);
    }
  }

  /** Who sent the request: fuse_in_header's uid, gid and pid. */
  private caller(): Caller {
    const { in: header } = this;
    return { uid: header.getUint32(24, true), gid: header.getUint32(28, true), pid: header.getUint32(32, true) };
  }

  private init(): void {
    const { in: args, out } = this;
    const at = IN_HEADER;
    const major = args.getUint32(at, true);
    const offered = args.getUint32(at + 12, true);
    this.output.fill(0, OUT_HEADER, OUT_HEADER + INIT_OUT);
    out.setUint32(OUT_HEADER, KERNEL_MAJOR, true);
    out.setUint32(OUT_HEADER + 4, KERNEL_MINOR, true);
    // A kernel newer in the major version asks again with ours; older ones we cannot serve.
    if (major !== KERNEL_MAJOR) {
      if (major < KERNEL_MAJOR) this.fail(errnoNumber('EINVAL'));
      else this.reply(INIT_OUT);
      return;
    }
    out.setUint32(OUT_HEADER + 8, args.getUint32(at + 8, true), true); // max_readahead: the kernel's
    const offered2 = offered & Init.INIT_EXT ? args.getUint32(at + 16, true) : 0;
    const flags2 = this.passthrough.negotiate(offered2);
    // Passthrough and the writeback cache exclude each other (the kernel drops passthrough, and
    // writable opens are direct io anyway): the cache only where files are not passed through.
    const wanted = WANTED | (this.options.writebackCache && !flags2 ? Init.WRITEBACK_CACHE : 0);
    out.setUint32(OUT_HEADER + 12, ((offered & wanted) | (flags2 ? Init.INIT_EXT : 0)) >>> 0, true);
    if (flags2) {
      out.setUint32(OUT_HEADER + 4, PASSTHROUGH_MINOR, true);
      out.setUint32(OUT_HEADER + 32, flags2, true);
      out.setUint32(OUT_HEADER + 36, 1, true); // max_stack_depth: backing files on a plain file system
    }
    out.setUint16(OUT_HEADER + 16, 64, true); // max_background
    out.setUint16(OUT_HEADER + 18, 48, true); // congestion_threshold
    out.setUint32(OUT_HEADER + 20, MAX_WRITE, true);
    out.setUint32(OUT_HEADER + 24, 1, true); // time_gran: nanoseconds
    out.setUint16(OUT_HEADER + 28, MAX_WRITE / 4096, true); // max_pages
    this.reply(INIT_OUT);
    this.ready();
  }

  /** OPEN, with passthrough negotiated: the answer names a backing file, or serves reads itself. */
  private open(node: number, flags: number): void {
    const answer = this.passthrough.open(node, flags, this.ops.backing?.(node), this.writeBackings(node));
    if ('errno' in answer) return this.fail(answer.errno);
    this.openReply(OUT_HEADER, answer);
    if (this.reply(OPEN_OUT)) this.passthrough.opened(node, answer);
    else this.notOpened(node);
  }

  /** An open the kernel did not take: a private backing file made for it goes. */
  private notOpened(node: number): void {
    if (this.passthrough.unused(node)) this.ops.releaseWriteBacking?.(node);
  }

  /** The open part of a CREATE's answer, with passthrough negotiated (a new file is empty: a writer may write it directly). */
  private openAnswer(node: number, flags: number): OpenFile {
    const answer = this.passthrough.open(node, flags, undefined, this.writeBackings(node));
    // The kernel refused backing files meanwhile: the file is served by the daemon.
    return 'fh' in answer ? answer : CREATED;
  }

  private writeBackings(node: number): WriteBackings | undefined {
    const { ops } = this;
    if (!ops.writeBacking || !ops.releaseWriteBacking) return undefined;
    return { make: () => ops.writeBacking!(node), drop: () => ops.releaseWriteBacking!(node) };
  }

  private setattr(node: number): void {
    const { in: args } = this;
    const at = IN_HEADER;
    const valid = args.getUint32(at, true);
    const changes: AttrChanges = {};
    if (valid & SetattrValid.MODE) changes.mode = args.getUint32(at + 68, true);
    if (valid & SetattrValid.UID) changes.uid = args.getUint32(at + 76, true);
    if (valid & SetattrValid.GID) changes.gid = args.getUint32(at + 80, true);
    if (valid & SetattrValid.SIZE) changes.size = getU64(args, at + 16);
    if (valid & SetattrValid.KILL_SUIDGID) changes.killPrivileges = this.caller();
    const time = (secondsAt: number, nanosAt: number) => args.getBigInt64(secondsAt, true) * 1_000_000_000n + BigInt(args.getUint32(nanosAt, true));
    if (valid & SetattrValid.ATIME_NOW) changes.atime = 'now';
    else if (valid & SetattrValid.ATIME) changes.atime = time(at + 32, at + 56);
    if (valid & SetattrValid.MTIME_NOW) changes.mtime = 'now';
    else if (valid & SetattrValid.MTIME) changes.mtime = time(at + 40, at + 60);
    this.attrReply(this.ops.setattr(node, changes));
  }

  /** As many entries after the requested offset as fit. */
  private readdir(node: number, plus: boolean): void {
    const { in: args, out, output } = this;
    const offset = getU64(args, IN_HEADER + 8);
    const size = Math.min(args.getUint32(IN_HEADER + 16, true), MAX_WRITE);
    const list = this.ops.entries(node);
    let used = 0;
    const named: number[] = [];
    for (let index = resumeAt(list, offset); index < list.entries.length; index++) {
      const { name, ino, mode, attr } = list.entries[index]!;
      const nameBytes = Buffer.byteLength(name);
      const length = direntSize(nameBytes, plus);
      if (used + length > size) break;
      let at = OUT_HEADER + used;
      if (plus) {
        setEntry(out, at, attr, this.options.cacheSeconds);
        if (attr) named.push(attr.ino);
        at += ENTRY_OUT;
      }
      setU64(out, at, ino);
      setU64(out, at + 8, list.cookies[index]!);
      out.setUint32(at + 16, nameBytes, true);
      out.setUint32(at + 20, direntType(mode), true);
      output.write(name, at + DIRENT, 'utf8');
      output.fill(0, at + DIRENT + nameBytes, OUT_HEADER + used + length);
      used += length;
    }
    // The kernel takes a reference to each entry that carries an inode.
    if (this.reply(used)) for (const ino of named) this.retain(ino);
  }

  private statfs(node: number): void {
    const { out } = this;
    const at = OUT_HEADER;
    // The filesystem's own answer where it has one; made-up sizes only where it has none.
    const space = this.ops.statfs?.(node) ?? STATFS;
    this.output.fill(0, at, at + STATFS_OUT);
    setU64(out, at, space.blocks);
    setU64(out, at + 8, space.bfree);
    setU64(out, at + 16, space.bavail);
    setU64(out, at + 24, space.files);
    setU64(out, at + 32, space.ffree);
    out.setUint32(at + 40, space.bsize, true);
    out.setUint32(at + 44, space.namelen, true);
    out.setUint32(at + 48, space.bsize, true); // frsize
    this.reply(STATFS_OUT);
  }
}

/** A failed system call of the addon as an ErrnoError. */
function systemError(errno: number, syscall: string, path: string): ErrnoError {
  return new ErrnoError(errnoCode(errno) ?? 'EIO', { syscall, path, detail: errnoCode(errno) ? undefined : `errno ${errno}` });
}
