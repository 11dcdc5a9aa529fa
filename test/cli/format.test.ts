import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, table } from '../../src/cli/format.js';
import { Progress } from '../../src/cli/progress.js';

describe('layerfs output helpers', () => {
  it('sizes in binary units with three significant digits', () => {
    expect([0, 512, 1536, 10 * 1024 + 100, 200 * 1024, 1024 ** 3 * 1.01].map(formatBytes)).toEqual(['0 B', '512 B', '1.50 KiB', '10.1 KiB', '200 KiB', '1.01 GiB']);
  });

  it('ages relative to now', () => {
    const now = Date.parse('2025-01-02T00:00:00Z');
    expect(formatAge('2025-01-02T00:00:00Z', now)).toBe('just now');
    expect(formatAge('2025-01-01T23:59:30Z', now)).toBe('30 seconds ago');
    expect(formatAge('2025-01-01T23:00:00Z', now)).toBe('1 hour ago');
    expect(formatAge('2024-12-30T00:00:00Z', now)).toBe('3 days ago');
  });

  it('tables pad columns and right-align numbers', () => {
    expect(table(['NAME', 'SIZE'], [['a', '1 B'], ['longer', '10 KiB']], new Set([1]))).toBe('NAME       SIZE\na           1 B\nlonger   10 KiB\n');
  });

  it('the progress bar draws only on a terminal, and clears itself', () => {
    const written: string[] = [];
    const fake = (isTTY: boolean) => ({ isTTY, columns: 80, write: (text: string) => written.push(text) }) as unknown as NodeJS.WriteStream;
    const quiet = new Progress('importing', 100, 'bytes', fake(false));
    quiet.update(50);
    quiet.finish();
    expect(written).toEqual([]);
    const bar = new Progress('importing', 2048, 'bytes', fake(true));
    bar.update(1024, '/etc/hosts');
    bar.update(2048); // within 100 ms of the last draw: skipped
    bar.finish();
    expect(written).toEqual(['\r\x1b[Kimporting [############............]  50% 1.00 KiB / 2.00 KiB /etc/hosts', '\r\x1b[K']);
  });
});
