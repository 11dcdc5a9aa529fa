import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { fixtureFrom, fixtureFromFs } from '../../src/testing.js';
import { tempDir } from '../helpers/tmp.js';

const fixture = await fixtureFrom({
  '/app/config.json': '{"debug":false}',
  '/app/data/a.txt': 'a',
  '/app/data/b.txt': 'b',
});

// Each concurrent test mutates its own container; none sees another's change, and the image
// stays as built. The sleeps interleave the tests so that a shared tree would be caught.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.concurrent('a fresh container fs per test, run concurrently', () => {
  for (let i = 0; i < 8; i++) {
    it.concurrent(`test ${i} sees only its own changes`, async () => {
      const fs = fixture.fs();
      await fs.promises.writeFile('/app/config.json', JSON.stringify({ debug: true, test: i }));
      await fs.promises.rm('/app/data', { recursive: true });
      await fs.promises.writeFile(`/app/mine-${i}`, String(i));
      await sleep(5 + ((i * 7) % 11));
      expect(JSON.parse(await fs.promises.readFile('/app/config.json', 'utf8'))).toEqual({ debug: true, test: i });
      expect((await fs.promises.readdir('/app')).sort()).toEqual(['config.json', `mine-${i}`]);
    });
  }

  it.concurrent('the image itself is unchanged', async () => {
    await sleep(20);
    const fs = fixture.fs();
    expect(fs.readFileSync('/app/config.json', 'utf8')).toBe('{"debug":false}');
    expect(fs.readdirSync('/app/data')).toEqual(['a.txt', 'b.txt']);
  });
});

describe('building fixtures', () => {
  it('from a directory on disk, keeping modes and symlinks', async () => {
    const root = tempDir();
    nodeFs.mkdirSync(path.join(root, 'bin'));
    nodeFs.writeFileSync(path.join(root, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    nodeFs.symlinkSync('bin/tool', path.join(root, 'tool'));
    const fromDisk = await fixtureFromFs(root);
    const fs = fromDisk.fs();
    expect(fs.statSync('/bin/tool').mode & 0o777).toBe(0o755);
    expect(fs.readlinkSync('/tool')).toBe('bin/tool');
    expect(fs.readFileSync('/tool', 'utf8')).toBe('#!/bin/sh\n');
  });

  it('from a memfs volume', async () => {
    const volume = Volume.fromJSON({ '/srv/index.html': '<h1>hi</h1>', '/srv/empty/': null });
    const fromVolume = await fixtureFromFs('/', volume as never);
    const fs = fromVolume.fs();
    expect(fs.readFileSync('/srv/index.html', 'utf8')).toBe('<h1>hi</h1>');
    expect(fs.statSync('/srv/empty').isDirectory()).toBe(true);
  });

  it('from layers, extended with one more, and read-only', async () => {
    const layered = await fixtureFrom([{ '/a': 'lower', '/b': 'lower' }, { '/a': 'upper', '/b': { kind: 'whiteout' } }]);
    const plus = layered.with({ '/c': 'added' });
    expect(plus.fs().readdirSync('/')).toEqual(['a', 'c']);
    expect(layered.fs().readFileSync('/a', 'utf8')).toBe('upper');
    expect(() => layered.readOnlyFs().writeFileSync('/a', 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });

  it('a container is cheap: a thousand fs objects in well under a second', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) fixture.fs().writeFileSync('/app/x', String(i));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
