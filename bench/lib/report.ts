import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
  };
}

export function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Writes a result file in bench/results (or `file`), creating the folder. */
export function writeResult(file: string, result: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const json = JSON.stringify(result, (_, value) => (typeof value === 'bigint' ? Number(value) : value), 2);
  fs.writeFileSync(file, `${json}\n`);
}

/** Parses sizes like 1GiB, 64MiB, 512KiB, 4096. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text} (try 1GiB, 64MiB, 4096)`);
  const unit = (match[2] ?? 'B').toUpperCase()[0]!;
  const scale = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[unit as 'B' | 'K' | 'M' | 'G'];
  return Math.round(Number(match[1]) * scale);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** Prints rows as an aligned text table. */
export function printTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  const text = [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
  console.log(text);
  return text;
}

/** A progress line on stderr, redrawn in place on a terminal and throttled elsewhere. */
export function progress(label: string, format: (value: number) => string = formatBytes): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < (process.stderr.isTTY ? 100 : 2000)) return;
    last = now;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const text = `${label}: ${percent}% (${format(done)} of ${format(total)})`;
    if (process.stderr.isTTY) process.stderr.write(`\r${text}${done >= total ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
