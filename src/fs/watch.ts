import { EventEmitter } from 'node:events';
import { posix } from 'node:path';
import { toPath } from './args.js';
import type { ChangeEvent } from './base.js';
import { edge } from './errors.js';
import type { LayerFs } from './fs.js';
import { type BigIntStats, type Stats, zeroStats } from './stats.js';

/**
 * fs.watch, fs.watchFile and fs/promises' watch, for changes made through the same fs object
 * (the core tells every change it makes: a name appearing or going is 'rename', a change of
 * content or metadata is 'change', as inotify reports them). Nothing polls: a watchFile listener
 * is called after changes, with the Stats after and before them, when they differ.
 */

export interface WatchOptions {
  persistent?: boolean;
  recursive?: boolean;
  encoding?: BufferEncoding | 'buffer';
  signal?: AbortSignal;
}

type WatchListener = (eventType: 'rename' | 'change', filename: string | Buffer) => void;

/** The canonical path of the entry an event names: its directory resolved, its own name kept. */
function canonical(core: LayerFs, path: string): string | undefined {
  const normal = posix.normalize(path);
  const parent = posix.dirname(normal);
  const name = posix.basename(normal);
  try {
    const dir = core.realpathSync(parent) as string;
    return name === '' ? dir : dir === '/' ? `/${name}` : `${dir}/${name}`;
  } catch {
    // The directory is gone (rm -r removes a parent after its children): no watcher can see it.
    return undefined;
  }
}

export class FSWatcher extends EventEmitter {
  #stop: (() => void) | undefined;

  constructor(core: LayerFs, target: string, isDir: boolean, options: WatchOptions) {
    super();
    const prefix = target === '/' ? '/' : `${target}/`;
    const name = (path: string) => (options.encoding === 'buffer' ? Buffer.from(path) : path);
    const unsubscribe = core.onChange((event: ChangeEvent) => {
      const path = canonical(core, event.path);
      if (path === undefined) return;
      let filename: string | undefined;
      if (path === target) filename = posix.basename(target);
      else if (isDir && posix.dirname(path) === target) filename = posix.basename(path);
      else if (isDir && options.recursive && path.startsWith(prefix)) filename = path.slice(prefix.length);
      if (filename === undefined) return;
      const reported = name(filename);
      process.nextTick(() => {
        if (this.#stop) this.emit('change', event.type, reported);
      });
    });
    const signal = options.signal;
    const onAbort = () => this.close();
    this.#stop = () => {
      unsubscribe();
      // A long-lived signal must not keep every closed watcher alive.
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Node closes a watcher at once when its signal is already aborted.
    if (signal?.aborted) this.close();
  }

  close(): void {
    if (!this.#stop) return;
    this.#stop();
    this.#stop = undefined;
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

export function watch(core: LayerFs, filename: unknown, options?: unknown, listener?: unknown): FSWatcher {
  const p = toPath(filename, 'filename');
  if (typeof options === 'function') [listener, options] = [options, undefined];
  const opts: WatchOptions = typeof options === 'string' ? { encoding: options as BufferEncoding } : ((options ?? {}) as WatchOptions);
  let target: string;
  let isDir: boolean;
  try {
    target = core.realpathSync(p) as string;
    isDir = core.statSync(target)!.isDirectory();
  } catch (error) {
    throw edge(error, 'watch', p);
  }
  const watcher = new FSWatcher(core, target, isDir, opts);
  if (typeof listener === 'function') watcher.on('change', listener as WatchListener);
  return watcher;
}

/** fs/promises' watch: an async iterator of { eventType, filename } until the signal aborts. */
export async function* watchAsync(core: LayerFs, filename: unknown, options?: unknown): AsyncGenerator<{ eventType: string; filename: string | Buffer }> {
  const opts = (typeof options === 'string' ? { encoding: options } : (options ?? {})) as WatchOptions;
  const watcher = watch(core, filename, { ...opts, signal: undefined });
  const queue: { eventType: string; filename: string | Buffer }[] = [];
  let wake: (() => void) | undefined;
  watcher.on('change', (eventType: string, name: string | Buffer) => {
    queue.push({ eventType, filename: name });
    wake?.();
  });
  const abort = () => wake?.();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    watcher.close();
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

// ---- watchFile ---------------------------------------------------------------------------------

export class StatWatcher extends EventEmitter {
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

interface Watched {
  watcher: StatWatcher;
  previous: Stats | BigIntStats;
  bigint: boolean;
  stop: () => void;
}

const watchedFiles = new WeakMap<LayerFs, Map<string, Watched>>();

function statOrZero(core: LayerFs, path: string, bigint: boolean): Stats | BigIntStats {
  return core.statSync(path, { bigint, throwIfNoEntry: false }) ?? zeroStats();
}

function differ(a: Stats | BigIntStats, b: Stats | BigIntStats): boolean {
  return a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs || a.size !== b.size || a.ino !== b.ino || a.mode !== b.mode || a.nlink !== b.nlink;
}

export function watchFile(core: LayerFs, filename: unknown, options?: unknown, listener?: unknown): StatWatcher {
  const path = core.abs(toPath(filename, 'filename'));
  if (typeof options === 'function') [listener, options] = [options, undefined];
  if (typeof listener !== 'function') throw new TypeError('"watchFile()" requires a listener function');
  const bigint = (options as { bigint?: boolean } | undefined)?.bigint === true;
  let files = watchedFiles.get(core);
  if (!files) watchedFiles.set(core, (files = new Map()));
  let watched = files.get(path);
  if (!watched) {
    const watcher = new StatWatcher();
    const entry: Watched = { watcher, previous: statOrZero(core, path, bigint), bigint, stop: () => {} };
    // Like Node's polling, a listener sees the file as a burst of changes left it: the check runs
    // once, on the next tick after the first change (creating and writing a file is one event).
    let pending = false;
    const check = () => {
      pending = false;
      const current = statOrZero(core, path, entry.bigint);
      if (!differ(current, entry.previous)) return;
      const previous = entry.previous;
      entry.previous = current;
      watcher.emit('change', current, previous);
    };
    entry.stop = core.onChange(() => {
      if (pending) return;
      pending = true;
      process.nextTick(check);
    });
    files.set(path, (watched = entry));
  }
  watched.watcher.on('change', listener as (...args: unknown[]) => void);
  return watched.watcher;
}

export function unwatchFile(core: LayerFs, filename: unknown, listener?: unknown): void {
  const path = core.abs(toPath(filename, 'filename'));
  const files = watchedFiles.get(core);
  const watched = files?.get(path);
  if (!files || !watched) return;
  if (typeof listener === 'function') watched.watcher.removeListener('change', listener as (...args: unknown[]) => void);
  else watched.watcher.removeAllListeners('change');
  if (watched.watcher.listenerCount('change') === 0) {
    watched.stop();
    files.delete(path);
    watched.watcher.emit('stop');
  }
}
