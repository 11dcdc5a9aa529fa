import { Readable, Writable } from 'node:stream';
import { toInt, toPath } from './args.js';
import { outOfRange } from './errors.js';
import type { FileFs } from './files.js';

/** An fd given to a stream: a number, or a FileHandle (closed through its own close()). */
type StreamFd = number | { readonly fd: number; close(): Promise<void> };

export interface ReadStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding;
  fd?: StreamFd;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}

export interface WriteStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding;
  fd?: StreamFd;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  highWaterMark?: number;
  flush?: boolean;
  signal?: AbortSignal;
}

/**
 * fs.ReadStream and fs.WriteStream on node:stream over the sync core. Like Node's, they open the
 * file in _construct (emitting 'open' and 'ready'), read or write at `start` onward or at the
 * file offset, and close the fd on destroy when autoClose is on.
 */
interface Opened {
  fd: number | null;
  handle: { close(): Promise<void> } | undefined;
}

function fdOption(fd: StreamFd | undefined): Opened {
  if (fd === undefined || fd === null) return { fd: null, handle: undefined };
  if (typeof fd === 'number') return { fd: toInt(fd, 'fd', 0), handle: undefined };
  return { fd: fd.fd, handle: fd };
}

function open(core: FileFs, stream: ReadStream | WriteStream, callback: (error?: Error | null) => void): void {
  if (stream.fd !== null) return callback();
  try {
    stream.fd = core.openSync(stream.path, stream.flags, stream.mode);
  } catch (error) {
    return callback(error as Error);
  }
  callback();
  stream.pending = false;
  stream.emit('open', stream.fd);
  stream.emit('ready');
}

function close(core: FileFs, stream: ReadStream | WriteStream, handle: Opened['handle'], error: Error | null, callback: (error?: Error | null) => void): void {
  const fd = stream.fd;
  if (fd === null || !stream.autoClose) return callback(error);
  stream.fd = null;
  if (handle) {
    handle.close().then(() => callback(error), (closing: Error) => callback(error ?? closing));
    return;
  }
  try {
    core.closeSync(fd);
  } catch (closing) {
    return callback(error ?? (closing as Error));
  }
  callback(error);
}

export class ReadStream extends Readable {
  path: string;
  fd: number | null;
  flags: string | number;
  mode: number;
  start: number | undefined;
  end: number;
  pos: number | undefined;
  bytesRead = 0;
  pending = true;
  autoClose: boolean;
  readonly #core: FileFs;
  readonly #handle: Opened['handle'];

  constructor(core: FileFs, path: unknown, options?: ReadStreamOptions | BufferEncoding) {
    const opts: ReadStreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    super({ highWaterMark: opts.highWaterMark ?? 64 * 1024, encoding: opts.encoding, emitClose: opts.emitClose ?? true, signal: opts.signal, autoDestroy: true });
    this.#core = core;
    const given = fdOption(opts.fd);
    this.fd = given.fd;
    this.#handle = given.handle;
    this.path = this.fd === null ? toPath(path) : (path as string);
    this.flags = opts.flags ?? 'r';
    this.mode = opts.mode ?? 0o666;
    this.autoClose = opts.autoClose ?? true;
    this.start = opts.start === undefined ? undefined : toInt(opts.start, 'start', 0, Number.MAX_SAFE_INTEGER);
    this.end = opts.end === undefined || opts.end === Infinity ? Infinity : toInt(opts.end, 'end', 0, Number.MAX_SAFE_INTEGER);
    if (this.start !== undefined && this.start > this.end) throw outOfRange('start', `<= "end" (here: ${this.end})`, this.start);
    this.pos = this.start;
    if (this.fd !== null) this.pending = false;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#core, this, callback);
  }

  override _read(size: number): void {
    const left = this.end - (this.pos ?? this.bytesRead) + 1;
    const length = Math.min(size, left);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    let read: number;
    try {
      read = this.#core.readSync(this.fd!, buffer, 0, length, this.pos ?? null);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (this.pos !== undefined) this.pos += read;
    this.bytesRead += read;
    // Delivered on the next tick, as Node's thread-pool reads arrive: one chunk per read.
    process.nextTick(() => this.push(read === 0 ? null : buffer.subarray(0, read)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    close(this.#core, this, this.#handle, error, callback);
  }

  close(callback?: (error?: Error | null) => void): void {
    if (callback) this.once('close', callback);
    this.destroy();
  }
}

export class WriteStream extends Writable {
  path: string;
  fd: number | null;
  flags: string | number;
  mode: number;
  start: number | undefined;
  pos: number | undefined;
  bytesWritten = 0;
  pending = true;
  autoClose: boolean;
  readonly #flush: boolean;
  readonly #core: FileFs;
  readonly #handle: Opened['handle'];

  constructor(core: FileFs, path: unknown, options?: WriteStreamOptions | BufferEncoding) {
    const opts: WriteStreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    super({ highWaterMark: opts.highWaterMark, emitClose: opts.emitClose ?? true, signal: opts.signal, decodeStrings: true, autoDestroy: true, defaultEncoding: opts.encoding ?? 'utf8' });
    this.#core = core;
    const given = fdOption(opts.fd);
    this.fd = given.fd;
    this.#handle = given.handle;
    this.path = this.fd === null ? toPath(path) : (path as string);
    this.flags = opts.flags ?? 'w';
    this.mode = opts.mode ?? 0o666;
    this.autoClose = opts.autoClose ?? true;
    this.#flush = opts.flush ?? false;
    this.start = opts.start === undefined ? undefined : toInt(opts.start, 'start', 0, Number.MAX_SAFE_INTEGER);
    this.pos = this.start;
    if (this.fd !== null) this.pending = false;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#core, this, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      const written = this.#core.writeSync(this.fd!, chunk, 0, chunk.length, this.pos ?? null);
      this.bytesWritten += written;
      if (this.pos !== undefined) this.pos += written;
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map(({ chunk }) => chunk)), 'utf8', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#flush || this.fd === null) return callback();
    try {
      this.#core.fsyncSync(this.fd);
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    close(this.#core, this, this.#handle, error, callback);
  }

  /** Ends the stream and calls back once it is closed (Node's WriteStream#close). */
  close(callback?: (error?: Error | null) => void): void {
    if (callback) {
      if (this.closed) {
        process.nextTick(callback);
        return;
      }
      this.once('close', callback);
    }
    if (!this.autoClose) this.once('finish', () => this.destroy());
    this.end();
  }

  destroySoon(): void {
    this.end();
  }
}
