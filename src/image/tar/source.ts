/** Bytes from a Uint8Array, a sync or async iterable of chunks, or a Node Readable. */
export type TarSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

const EMPTY = new Uint8Array(0);

/**
 * Reads a chunked source by exact counts, copying only when a read spans two chunks. `offset`
 * is how many bytes have been consumed, for error messages.
 */
export class ByteSource {
  private readonly chunks: AsyncIterator<unknown> | Iterator<unknown>;
  private current: Uint8Array = EMPTY;
  private at = 0;
  offset = 0;

  constructor(source: TarSource) {
    if (source instanceof Uint8Array) this.chunks = [source][Symbol.iterator]();
    else if (Symbol.asyncIterator in source) this.chunks = source[Symbol.asyncIterator]();
    else this.chunks = source[Symbol.iterator]();
  }

  /** False at the end of the source. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.current.length) {
      const next = await this.chunks.next();
      if (next.done) return false;
      if (!(next.value instanceof Uint8Array)) {
        throw new TypeError(`tar source gave a ${typeof next.value} chunk; expected bytes (a Readable without an encoding)`);
      }
      this.current = next.value;
      this.at = 0;
    }
    return true;
  }

  /** Exactly `count` bytes, or fewer at the end of the source. */
  async read(count: number): Promise<Uint8Array> {
    if (!(await this.fill())) return EMPTY;
    if (this.current.length - this.at >= count) {
      const out = this.current.subarray(this.at, this.at + count);
      this.at += count;
      this.offset += count;
      return out;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count && (await this.fill())) {
      const take = Math.min(count - filled, this.current.length - this.at);
      out.set(this.current.subarray(this.at, this.at + take), filled);
      this.at += take;
      this.offset += take;
      filled += take;
    }
    return filled === count ? out : out.subarray(0, filled);
  }

  /** Up to `count` bytes as the source hands them over, without copying; stops early at the end. */
  async *stream(count: number): AsyncGenerator<Uint8Array> {
    let left = count;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.current.length - this.at);
      const out = this.current.subarray(this.at, this.at + take);
      this.at += take;
      this.offset += take;
      left -= take;
      yield out;
    }
  }

  /** Skips up to `count` bytes; returns how many there were. */
  async skip(count: number): Promise<number> {
    let skipped = 0;
    for await (const chunk of this.stream(count)) skipped += chunk.length;
    return skipped;
  }

  /** Lets the source release what it holds (closes a Readable) when reading stops early. */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}
