import { describe, expect, it } from 'vitest';
import { formatNumber, parseNumber } from '../../src/image/tar/numbers.js';
import { formatPax, formatPaxTime, parsePax, parsePaxTime } from '../../src/image/tar/pax.js';

describe('numeric header fields', () => {
  it('read octal with leading spaces and NUL or space terminators', () => {
    expect(parseNumber(Buffer.from('0000644\0'))).toBe(0o644n);
    expect(parseNumber(Buffer.from('   644 \0'))).toBe(0o644n);
    expect(parseNumber(Buffer.from('\0\0\0\0\0\0\0\0'))).toBe(0n);
    expect(parseNumber(Buffer.from('00006x4\0'))).toBeUndefined();
    expect(parseNumber(Buffer.from('0644\0  9'))).toBeUndefined();
  });

  it('round-trip through octal and base-256, negative values included', () => {
    for (const value of [0n, 1n, 0o7777777n, 0o10000000n, 2n ** 40n, -1n, -(2n ** 40n), 2n ** 61n, -(2n ** 61n)]) {
      const field = new Uint8Array(8);
      formatNumber(field, 0, 8, value);
      expect(parseNumber(field)).toBe(value);
    }
  });

  it('use base-256 with bit 6 as the sign, as GNU tar writes it', () => {
    const field = new Uint8Array(12);
    formatNumber(field, 0, 12, 9n * 2n ** 30n);
    expect(field[0]).toBe(0x80);
    formatNumber(field, 0, 12, -1n);
    expect([...field]).toEqual(new Array(12).fill(0xff));
    expect(parseNumber(Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 5))).toBe(5n);
  });

  it('refuse values base-256 cannot hold', () => {
    expect(() => formatNumber(new Uint8Array(8), 0, 8, 2n ** 62n)).toThrow(RangeError);
  });
});

describe('PAX records', () => {
  it('count their own length in bytes, across a change in the number of digits', () => {
    for (let length = 1; length < 120; length++) {
      const value = 'é'.repeat(length >> 1) + 'x'.repeat(length & 1);
      const bytes = formatPax([['path', value]]);
      expect(Number(Buffer.from(bytes).toString().split(' ')[0])).toBe(bytes.length);
      expect(Buffer.from(parsePax(bytes, 0).get('path')!).toString()).toBe(value);
    }
  });

  it('keep binary values, newlines and NULs included', () => {
    const value = Uint8Array.of(0, 10, 61, 255, 10);
    const records = parsePax(formatPax([['SCHILY.xattr.user.bin', value], ['mtime', '1.5']]), 0);
    expect(records.get('SCHILY.xattr.user.bin')).toEqual(value);
    expect(Buffer.from(records.get('mtime')!).toString()).toBe('1.5');
  });

  it('reject malformed records with the offset', () => {
    expect(() => parsePax(Buffer.from('9 path=abc\n'), 1000)).toThrow(/malformed PAX record.*offset 1000/);
    expect(() => parsePax(Buffer.from('x path=a\n'), 0)).toThrow(/malformed/);
    expect(() => parsePax(Buffer.from('9 =value\n'), 0)).toThrow(/without a key/);
  });

  it('times keep nanoseconds and put the sign on the whole value', () => {
    expect(parsePaxTime('1234567890.123456789', 0)).toBe(1_234_567_890_123_456_789n);
    expect(parsePaxTime('1234567890.1234567891', 0)).toBe(1_234_567_890_123_456_789n);
    expect(parsePaxTime('1.5', 0)).toBe(1_500_000_000n);
    expect(parsePaxTime('-1.5', 0)).toBe(-1_500_000_000n);
    expect(parsePaxTime('7', 0)).toBe(7_000_000_000n);
    expect(() => parsePaxTime('1e9', 0)).toThrow(/malformed PAX time/);
    for (const ns of [0n, 1n, -1n, 1_500_000_000n, -1_500_000_000n, 1_234_567_890_123_456_789n, -86_400_000_000_001n]) {
      expect(parsePaxTime(formatPaxTime(ns), 0)).toBe(ns);
    }
    expect(formatPaxTime(-1_500_000_000n)).toBe('-1.5');
  });
});
