import { execFileSync } from 'node:child_process';
import { type TarHeader, type TarSource, readTar } from '../../src/image/index.js';
import { BLOCK, checksum } from '../../src/image/tar/header.js';
import { formatNumber } from '../../src/image/tar/numbers.js';

export interface Member {
  header: TarHeader;
  data: Uint8Array;
}

/** Every member with its data, for archives small enough to hold. */
export async function collect(source: TarSource): Promise<Member[]> {
  const members: Member[] = [];
  for await (const { header, body } of readTar(source)) {
    const parts: Uint8Array[] = [];
    for await (const chunk of body) parts.push(chunk.slice());
    members.push({ header, data: Buffer.concat(parts) });
  }
  return members;
}

/** Runs the system tar (GNU tar) and returns its stdout. */
export function systemTar(args: string[], cwd?: string): Buffer {
  return execFileSync('tar', args, { cwd, maxBuffer: 1 << 30 });
}

/** A header block written field by field, for members the writer never makes ('g', 'L', 'S', garbage). */
export function rawHeader(fields: { name: string; typeflag: string; size?: number; mode?: number; magic?: string }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(Buffer.from(fields.name).subarray(0, 100), 0);
  formatNumber(block, 100, 8, BigInt(fields.mode ?? 0o644));
  formatNumber(block, 108, 8, 0n);
  formatNumber(block, 116, 8, 0n);
  formatNumber(block, 124, 12, BigInt(fields.size ?? 0));
  formatNumber(block, 136, 12, 0n);
  block[156] = fields.typeflag.charCodeAt(0);
  block.set(Buffer.from(fields.magic ?? 'ustar\x0000'), 257);
  block.fill(0x20, 148, 156);
  const sum = checksum(block).toString(8).padStart(6, '0');
  block.set(Buffer.from(`${sum}\0 `), 148);
  return block;
}

/** Data padded to whole blocks. */
export function padded(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const out = new Uint8Array(Math.ceil(bytes.length / BLOCK) * BLOCK);
  out.set(bytes);
  return out;
}

/** The text of a member's data. */
export function textOf(member: Member | undefined): string {
  if (!member) throw new Error('no such member');
  return Buffer.from(member.data).toString();
}
