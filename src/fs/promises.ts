import { EventEmitter } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { signalIn, throwIfAborted } from './abort.js';
import { constants } from './constants.js';
import { fail, invalidArgType } from './errors.js';
import type { LayerFs } from './fs.js';
import { OPS, type Op, PROMISE_OPS, SHAPES, type Shape } from './ops.js';
import { ReadStream, type ReadStreamOptions, WriteStream, type WriteStreamOptions } from './streams.js';
import { watchAsync } from './watch.js';
import { type GlobOptions, globSync } from './glob.js';

type SyncCall = (...args: unknown[]) => unknown;
type AsyncCall = (...args: unknown[]) => Promise<unknown>;

/**
 * The promise form of a sync call: the call runs at once inside the promise, so a failure of
 * any kind (bad arguments included, as with Node's fs/promises) is a rejection. A FileHandle in
 * the first place stands for its fd (readFile(handle), writeFile(handle), ...).
 */
export function promisify(run: SyncCall, shape?: Shape, wrap?: (result: unknown) => unknown): AsyncCall {
  return async function promiseForm(...args: unknown[]): Promise<unknown> {
    if (args[0] instanceof FileHandle) args[0] = args[0].fd;
    const signal = shape?.signalAt === undefined ? undefined : signalIn(args[shape.signalAt]);
    if (shape?.prepare) args = shape.prepare(args);
    throwIfAborted(signal);
    if (shape?.streamData && isStreamData(args[1])) {
      args[1] = await collect(args[1], args[2]);
    }
    const result = run(...args);
    if (signal) {
      await undefined;
      throwIfAborted(signal);
    }
    if (wrap) return wrap(result);
    return shape?.promise ? shape.promise(result, args) : result;
  };
}

/** writeFile in fs/promises also takes an iterable or a stream of chunks. */
function isStreamData(data: unknown): data is Iterable<unknown> | AsyncIterable<unknown> {
  if (typeof data === 'string' || ArrayBuffer.isView(data) || data === null || typeof data !== 'object') return false;
  return Symbol.asyncIterator in data || Symbol.iterator in data;
}

async function collect(data: Iterable<unknown> | AsyncIterable<unknown>, options: unknown): Promise<Buffer> {
  const encoding = typeof options === 'string' ? options : ((options as { encoding?: BufferEncoding } | undefined)?.encoding ?? 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of data as AsyncIterable<unknown>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** FileHandle methods and the fd call each one is. */
const HANDLE_METHODS = {
  appendFile: 'appendFile',
  chmod: 'fchmod',
  chown: 'fchown',
  datasync: 'fdatasync',
  read: 'read',
  readFile: 'readFile',
  readv: 'readv',
  stat: 'fstat',
  sync: 'fsync',
  truncate: 'ftruncate',
  utimes: 'futimes',
  write: 'write',
  writeFile: 'writeFile',
  writev: 'writev',
} as const satisfies Record<string, Op>;

type HandleMethods = { [K in keyof typeof HANDLE_METHODS]: (...args: unknown[]) => Promise<never> };

// The methods are made from the table below the class; this declaration gives them their types.
export interface FileHandle extends HandleMethods {}

/** fs/promises' FileHandle: an fd of the in-memory fs whose methods are the fd calls. */
export class FileHandle extends EventEmitter {
  #fd: number;
  readonly #calls: Record<Op, AsyncCall>;
  readonly #core: LayerFs;

  constructor(fd: number, calls: Record<Op, AsyncCall>, core: LayerFs) {
    super();
    this.#fd = fd;
    this.#calls = calls;
    this.#core = core;
  }

  get fd(): number {
    return this.#fd;
  }

  /** Runs an fd call on this handle; a closed handle answers EBADF like a closed fd. */
  call(op: Op, args: unknown[]): Promise<unknown> {
    if (this.#fd === -1) return Promise.reject(fail('EBADF', op));
    return this.#calls[op](this.#fd, ...args);
  }

  async close(): Promise<void> {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#core.closeSync(fd);
    this.emit('close');
  }

  createReadStream(options?: Omit<ReadStreamOptions, 'fd'>): ReadStream {
    return new ReadStream(this.#core, undefined, { ...options, fd: this });
  }

  createWriteStream(options?: Omit<WriteStreamOptions, 'fd'>): WriteStream {
    return new WriteStream(this.#core, undefined, { ...options, fd: this });
  }

  readLines(options?: Omit<ReadStreamOptions, 'fd'>): Interface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

for (const [method, op] of Object.entries(HANDLE_METHODS)) {
  Object.defineProperty(FileHandle.prototype, method, {
    value: function (this: FileHandle, ...args: unknown[]) {
      return this.call(op, args);
    },
    writable: true,
    configurable: true,
  });
}

/** fs.promises of one fs object: every promise-capable call, FileHandle for open, and watch. */
export function createPromises(core: LayerFs): Record<string, unknown> {
  const calls = {} as Record<Op, AsyncCall>;
  const sync = core as unknown as Record<string, SyncCall>;
  for (const op of OPS) calls[op] = promisify(sync[`${op}Sync`]!.bind(core), SHAPES[op]);
  calls.open = promisify(sync.openSync!.bind(core), undefined, (fd) => new FileHandle(fd as number, calls, core));
  const promises: Record<string, unknown> = { constants };
  for (const op of PROMISE_OPS) {
    // fs/promises takes paths (or a FileHandle), never a bare fd number.
    promises[op] = (...args: unknown[]) =>
      typeof args[0] === 'number' ? Promise.reject(invalidArgType('path', 'of type string or an instance of Buffer or URL', args[0])) : calls[op](...args);
  }
  promises.watch = (filename: unknown, options?: unknown) => watchAsync(core, filename, options);
  promises.glob = async function* glob(pattern: unknown, options?: GlobOptions) {
    yield* globSync(core, pattern, options);
  };
  return promises;
}
