import { formatBytes } from './format.js';

/**
 * A one-line progress bar on stderr for long work (import, verify). Drawn only on a terminal,
 * at most ten times a second, so a log file or a pipe never fills with carriage returns.
 */
export class Progress {
  private last = 0;
  private drawn = false;
  private readonly stream: NodeJS.WriteStream;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: 'bytes' | 'items',
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.stream = stream;
  }

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(done: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const amount = this.unit === 'bytes' ? formatBytes(done) : String(done);
    let line = `${this.label} ${amount}`;
    // Without a known total (an image archive is read by the importer itself) only the count shows.
    if (this.total > 0) {
      const share = Math.min(1, done / this.total);
      const width = 24;
      const filled = Math.round(share * width);
      const of = this.unit === 'bytes' ? formatBytes(this.total) : String(this.total);
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${amount} / ${of}`;
    }
    const room = (this.stream.columns ?? 80) - line.length - 2;
    if (detail && room > 8) line += ` ${detail.length > room ? `…${detail.slice(-(room - 1))}` : detail}`;
    this.stream.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }

  /** Clears the bar so the next line starts clean. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
