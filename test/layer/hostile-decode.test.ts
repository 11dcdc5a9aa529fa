import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/layer/codec.js';
import { FormatError, decodeLayer } from '../../src/index.js';

describe('decoding a hostile layer', () => {
  it('refuses a file whose size asks for a huge chunk list made of one hole run', () => {
    const out = new ByteWriter();
    out.bytes(Buffer.from('LFSL'));
    out.byte(1);
    out.uint(2);
    // root: dir, meta, not opaque, one child "f" -> 2
    out.byte(1);
    for (const value of [0o755, 0, 0]) out.uint(value);
    for (let i = 0; i < 3; i++) out.bigint(0n);
    out.uint(0);
    out.byte(0);
    out.uint(1);
    out.string('f');
    out.uint(2);
    // file of 2^52 bytes in 1-byte chunks, all one hole run
    out.byte(0);
    for (const value of [0o644, 0, 0]) out.uint(value);
    for (let i = 0; i < 3; i++) out.bigint(0n);
    out.uint(0);
    out.uint(2 ** 52);
    out.uint(1);
    out.byte(0);
    out.uint(2 ** 52);
    expect(() => decodeLayer(out.finish())).toThrow(FormatError);
    expect(() => decodeLayer(out.finish())).toThrow(/chunks is more than/);
  });
});
