import type { Dirent } from './stats.js';

type Callback<T> = (error: Error | null, value?: T) => void;

class DirClosedError extends Error {
  readonly code = 'ERR_DIR_CLOSED';
  constructor() {
    super('Directory handle was closed');
  }
}

/**
 * fs.Dir: the entries of a directory read one at a time (opendir). The listing is taken when the
 * directory is opened, so entries added or removed while it is read neither appear nor vanish
 * half way (POSIX leaves that unspecified; a snapshot is the simple, stable answer).
 */
export class Dir {
  readonly path: string;
  readonly #entries: Dirent<string | Buffer>[];
  #next = 0;
  #closed = false;

  constructor(path: string, entries: Dirent<string | Buffer>[]) {
    this.path = path;
    this.#entries = entries;
  }

  readSync(): Dirent<string | Buffer> | null {
    if (this.#closed) throw new DirClosedError();
    return this.#entries[this.#next++] ?? null;
  }

  read(): Promise<Dirent<string | Buffer> | null>;
  read(callback: Callback<Dirent<string | Buffer> | null>): void;
  read(callback?: Callback<Dirent<string | Buffer> | null>): Promise<Dirent<string | Buffer> | null> | void {
    return settle(() => this.readSync(), callback);
  }

  closeSync(): void {
    if (this.#closed) throw new DirClosedError();
    this.#closed = true;
  }

  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>): Promise<void> | void {
    return settle(() => this.closeSync(), callback);
  }

  async *entries(): AsyncGenerator<Dirent<string | Buffer>, void, undefined> {
    try {
      for (let entry = this.readSync(); entry !== null; entry = this.readSync()) yield entry;
    } finally {
      if (!this.#closed) this.closeSync();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent<string | Buffer>, void, undefined> {
    return this.entries();
  }
}

function settle<T>(action: () => T, callback?: Callback<T>): Promise<T> | void {
  if (!callback) return new Promise<T>((resolve) => resolve(action()));
  let value: T;
  try {
    value = action();
  } catch (error) {
    process.nextTick(callback, error as Error);
    return;
  }
  process.nextTick(callback, null, value);
}
