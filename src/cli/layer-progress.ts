import { formatBytes } from './format.js';

/**
 * One line per layer on stderr (`sha256:1a2b3c4d5e6f  fetching  12.0 MiB / 30.1 MiB`), redrawn in
 * place at most ten times a second, as docker pull shows them. Drawn only on a terminal, so a
 * log file or a pipe never fills with escape sequences.
 */
export class LayerProgress {
  private readonly lines = new Map<string, string>();
  private drawnLines = 0;
  private last = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(id: string, state: string, done: number, total = 0): void {
    if (!this.enabled) return;
    const short = id.replace(/^(sha256:|xxh64:)/, '').slice(0, 12);
    this.lines.set(id, `${short}  ${state.padEnd(9)} ${formatBytes(done)}${total > 0 ? ` / ${formatBytes(total)}` : ''}`);
    const now = Date.now();
    if (now - this.last < 100 && state !== 'done') return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.stream.write(`${up}${[...this.lines.values()].map((line) => `\r\x1b[K${line}\n`).join('')}`);
    this.drawnLines = this.lines.size;
  }

  /** Draws the final state of every line. */
  finish(): void {
    if (this.enabled && this.lines.size > 0) this.draw();
  }
}
