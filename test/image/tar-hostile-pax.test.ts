import { describe, expect, it } from 'vitest';
import { TarError, readTar } from '../../src/image/tar.js';

/** A ustar header block for a PAX member of `size` bytes (checksum filled in). */
function header(name: string, typeflag: string, size: number): Uint8Array {
  const block = new Uint8Array(512);
  block.set(Buffer.from(name));
  block.set(Buffer.from('0000644\0'), 100);
  block.set(Buffer.from(size.toString(8).padStart(11, '0') + '\0'), 124);
  block.set(Buffer.from('00000000000\0'), 136);
  block.set(Buffer.from(typeflag), 156);
  block.set(Buffer.from('ustar\0' + '00'), 257);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.set(Buffer.from(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return `${length}${body}`;
}

describe('a run of PAX headers', () => {
  it('cannot pile up more than the extension limit, however many headers it takes', async () => {
    const parts: Uint8Array[] = [];
    const value = 'v'.repeat(60_000);
    for (let i = 0; i < 40; i++) {
      const data = Buffer.from(paxRecord(`LAYERFS.k${i}`, value));
      parts.push(header('g', 'g', data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
    }
    parts.push(new Uint8Array(1024));
    const archive = Buffer.concat(parts);
    const read = async () => {
      for await (const entry of readTar(archive)) void entry;
    };
    await expect(read()).rejects.toThrow(TarError);
    await expect(read()).rejects.toThrow(/extended headers hold more than/);
  });
});
