import { expect } from 'vitest';
import type { FuseDevice } from '../../src/fuse/kernel/native.js';

export interface Reply {
  error: number;
  unique: number;
  body: Buffer;
}

/** Plays the kernel's side of /dev/fuse: requests go in, replies come out. */
export class FakeKernel implements FuseDevice {
  readonly replies: Reply[] = [];
  readonly notices: Buffer[] = [];
  private readonly queue: Buffer[] = [];
  private readable?: () => void;
  private unique = 1;
  /** What write() answers: -ENOENT plays a request interrupted meanwhile. */
  writeResult = 0;

  mount(): number {
    return 7;
  }
  unmount(): number {
    return 0;
  }
  watch(_fd: number, readable: () => void): unknown {
    this.readable = readable;
    return {};
  }
  unwatch(): void {}
  close(): number {
    return 0;
  }
  notify(_fd: number, message: Buffer): number {
    this.notices.push(Buffer.from(message));
    return 0;
  }
  read(_fd: number, buffer: Buffer): number {
    const next = this.queue.shift();
    if (!next) return -11; // EAGAIN
    next.copy(buffer);
    return next.length;
  }
  write(_fd: number, header: Buffer, body?: Buffer): number {
    const bytes = Buffer.concat(body ? [header, body] : [header]);
    expect(bytes.readUInt32LE(0)).toBe(bytes.length);
    this.replies.push({ error: bytes.readInt32LE(4), unique: Number(bytes.readBigUInt64LE(8)), body: bytes.subarray(16) });
    return this.writeResult;
  }

  /** Sends one request and returns the reply to it (undefined for a request without one). */
  send(opcode: number, node: number, body: Buffer = Buffer.alloc(0), ids = { uid: 0, gid: 0 }): Reply | undefined {
    const unique = this.unique++;
    const header = Buffer.alloc(40);
    header.writeUInt32LE(40 + body.length, 0);
    header.writeUInt32LE(opcode, 4);
    header.writeBigUInt64LE(BigInt(unique), 8);
    header.writeBigUInt64LE(BigInt(node), 16);
    header.writeUInt32LE(ids.uid, 24);
    header.writeUInt32LE(ids.gid, 28);
    this.queue.push(Buffer.concat([header, body]));
    const before = this.replies.length;
    this.readable!();
    const reply = this.replies.slice(before).find((r) => r.unique === unique);
    return reply;
  }
}

