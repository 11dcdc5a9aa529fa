import { describe, expect, it } from 'vitest';
import { LayerProgress } from '../../src/cli/layer-progress.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 80, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream, written };
}

describe('progress per layer', () => {
  it('draws one line per layer on a terminal, redrawn in place', () => {
    const { stream, written } = fakeStream(true);
    const progress = new LayerProgress(stream);
    progress.update('sha256:aaaaaaaaaaaaaaaa', 'fetching', 1024, 4096);
    progress.update('sha256:bbbbbbbbbbbbbbbb', 'done', 2048, 2048);
    progress.finish();
    const last = written.at(-1)!;
    // Back up over the two lines drawn before, then both lines again.
    expect(last.startsWith('\x1b[2A')).toBe(true);
    expect(last).toContain('aaaaaaaaaaaa  fetching  1.00 KiB / 4.00 KiB');
    expect(last).toContain('bbbbbbbbbbbb  done      2.00 KiB / 2.00 KiB');
  });

  it('writes nothing when stderr is not a terminal (a log file stays clean)', () => {
    const { stream, written } = fakeStream(false);
    const progress = new LayerProgress(stream);
    progress.update('sha256:aaaa', 'fetching', 1, 2);
    progress.finish();
    expect(written).toEqual([]);
  });
});
