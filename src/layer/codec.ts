/** Byte writer and reader for the canonical layer encoding: unsigned LEB128 varints and strings. */
import { type Digest, parseDigest, toDigest } from '../store/index.js';

export class ByteWriter {
  private buffer = new Uint8Array(4096);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Unsigned integer up to 2^53. */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not an unsigned integer: ${value}`);
    while (value >= 0x80) {
      this.byte((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.byte(value);
  }

  /** Signed 64-bit integer, zigzag encoded (times before 1970 are negative). */
  bigint(value: bigint): void {
    let zigzag = value >= 0n ? value << 1n : ((-value) << 1n) - 1n;
    while (zigzag >= 0x80n) {
      this.byte(Number(zigzag & 0x7fn) | 0x80);
      zigzag >>= 7n;
    }
    this.byte(Number(zigzag));
  }

  u64(value: bigint): void {
    this.reserve(8);
    new DataView(this.buffer.buffer).setBigUint64(this.length, value);
    this.length += 8;
  }

  blob(value: Uint8Array): void {
    this.uint(value.length);
    this.bytes(value);
  }

  /** A digest as its 64-bit hash and its collision number: 9 bytes, not 22 characters. */
  digest(value: Digest): void {
    const { hash, collision } = parseDigest(value);
    this.u64(hash);
    this.uint(collision);
  }

  string(value: string): void {
    this.blob(Buffer.from(value, 'utf8'));
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ByteReader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly buffer: Uint8Array) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  get done(): boolean {
    return this.at === this.buffer.length;
  }

  get offset(): number {
    return this.at;
  }

  private need(count: number): void {
    if (this.at + count > this.buffer.length) {
      throw new FormatError(`truncated: needs ${count} more byte(s) at offset ${this.at} of ${this.buffer.length}`);
    }
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.at++]!;
  }

  bytes(count: number): Uint8Array {
    this.need(count);
    const out = this.buffer.subarray(this.at, this.at + count);
    this.at += count;
    return out;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (!Number.isSafeInteger(value)) throw new FormatError(`integer too large at offset ${this.at}`);
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
    }
  }

  bigint(): bigint {
    let zigzag = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.byte();
      zigzag |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 70n) throw new FormatError(`integer too large at offset ${this.at}`);
    }
    return zigzag & 1n ? -((zigzag + 1n) >> 1n) : zigzag >> 1n;
  }

  u64(): bigint {
    this.need(8);
    const value = this.view.getBigUint64(this.at);
    this.at += 8;
    return value;
  }

  blob(): Uint8Array {
    return this.bytes(this.uint());
  }

  digest(): Digest {
    return toDigest(this.u64(), this.uint());
  }

  string(): string {
    const at = this.at;
    try {
      return utf8.decode(this.blob());
    } catch (error) {
      if (error instanceof FormatError) throw error;
      throw new FormatError(`invalid UTF-8 at offset ${at}`);
    }
  }
}
