import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno, rejected } from './context.js';

/** statfs, openAsBlob, AbortSignal on reads and writes, and Node 22's glob. */
export function apis(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();
  const globTest = ctx.test('glob');

  describe('statfs, openAsBlob, abort signals and glob', () => {
    test('statfs counts blocks and inodes in every form; a missing path is ENOENT', async () => {
      const { fs } = ctx;
      const space = fs.statfsSync(p('/dir'));
      for (const field of ['type', 'bsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree'] as const) expect(typeof space[field]).toBe('number');
      expect(space.bsize).toBeGreaterThan(0);
      expect(space.blocks).toBeGreaterThanOrEqual(space.bfree);
      expect(space.bfree).toBeGreaterThanOrEqual(space.bavail);
      expect(space.files).toBeGreaterThanOrEqual(space.ffree);
      expect(space.ffree).toBeGreaterThan(0);
      expect(typeof fs.statfsSync(p('/file.txt'), { bigint: true }).blocks).toBe('bigint');
      expect((await fs.promises.statfs(p('/'))).bsize).toBe(space.bsize);
      const viaCallback = await new Promise((resolve, reject) => fs.statfs(p('/'), (error, stats) => (error ? reject(error) : resolve(stats.bsize))));
      expect(viaCallback).toBe(space.bsize);
      expectErrno(caught(() => fs.statfsSync(p('/missing'))), { code: 'ENOENT', syscall: 'statfs', path: p('/missing') });
    });

    test('openAsBlob gives the content with its type; a missing path throws', async () => {
      const { fs } = ctx;
      const blob = await fs.openAsBlob(p('/file.txt'), { type: 'text/plain' });
      expect([blob.size, blob.type, await blob.text()]).toEqual([12, 'text/plain', 'hello world\n']);
      expect(Buffer.from(await (await fs.openAsBlob(p('/link-to-file'))).arrayBuffer()).toString()).toBe('hello world\n');
      const error = caught(() => fs.openAsBlob(p('/missing')));
      expect([error.name, error.code]).toEqual(['TypeError', 'ERR_INVALID_ARG_VALUE']);
    });

    test('an AbortSignal that fired cancels readFile and writeFile; a live one changes nothing', async () => {
      const { fs } = ctx;
      const fired = AbortSignal.abort();
      const aborted = await rejected(fs.promises.readFile(p('/file.txt'), { signal: fired }));
      expect([aborted.name, aborted.code]).toEqual(['AbortError', 'ABORT_ERR']);
      expect((await rejected(fs.promises.writeFile(p('/file.txt'), 'lost', { signal: fired }))).name).toBe('AbortError');
      expect(fs.readFileSync(p('/file.txt'), 'utf8')).toBe('hello world\n');
      const viaCallback = await new Promise<NodeJS.ErrnoException | null>((resolve) => fs.readFile(p('/file.txt'), { signal: fired }, (error) => resolve(error)));
      expect(viaCallback?.name).toBe('AbortError');
      // Aborted before the result is delivered: the read is cancelled too.
      const controller = new AbortController();
      const pending = fs.promises.readFile(p('/file.txt'), { signal: controller.signal });
      controller.abort();
      expect((await rejected(pending)).name).toBe('AbortError');
      expect(await fs.promises.readFile(p('/file.txt'), { encoding: 'utf8', signal: new AbortController().signal })).toBe('hello world\n');
      expect(caught(() => fs.readFile(p('/file.txt'), { signal: 5 as never }, () => {})).code).toBe('ERR_INVALID_ARG_TYPE');
    });

    globTest('glob: wildcards, **, braces and classes, relative to cwd; hidden names need a dot', async () => {
      const fs = ctx.fs as Ctx['fs'] & { globSync(pattern: string | string[], options?: object): unknown[] };
      fs.writeFileSync(p('/dir/.hidden.txt'), '');
      const sorted = (list: unknown[]) => list.map(String).sort();
      const cwd = p('/');
      expect(sorted(fs.globSync('dir/*.txt', { cwd }))).toEqual(['dir/a.txt', 'dir/b.txt']);
      expect(sorted(fs.globSync('**/*.txt', { cwd }))).toEqual(['dir/a.txt', 'dir/b.txt', 'dir/sub/c.txt', 'dir/sub/deep/d.txt', 'file.txt']);
      expect(sorted(fs.globSync('dir/{a,c}.txt', { cwd }))).toEqual(['dir/a.txt']);
      expect(sorted(fs.globSync('dir/[ab].t?t', { cwd }))).toEqual(['dir/a.txt', 'dir/b.txt']);
      expect(sorted(fs.globSync('dir/.*.txt', { cwd }))).toEqual(['dir/.hidden.txt']);
      expect(sorted(fs.globSync(['dir/sub/**', 'exec.*'], { cwd }))).toEqual(['dir/sub', 'dir/sub/c.txt', 'dir/sub/deep', 'dir/sub/deep/d.txt', 'exec.sh']);
      expect(sorted(fs.globSync(`${p('/dir/sub')}/*`))).toEqual([p('/dir/sub/c.txt'), p('/dir/sub/deep')]);
      expect(fs.globSync('nothing/*', { cwd })).toEqual([]);
      const typed = fs.globSync('dir/sub/*', { cwd, withFileTypes: true }) as { name: string; isDirectory(): boolean; parentPath: string }[];
      expect(typed.map((entry) => [entry.name, entry.isDirectory(), entry.parentPath]).sort()).toEqual([
        ['c.txt', false, p('/dir/sub')],
        ['deep', true, p('/dir/sub')],
      ]);
      expect(sorted(fs.globSync('dir/*', { cwd, exclude: (path: string) => path.endsWith('.txt') }))).toEqual(['dir/sub']);
      expect(sorted(fs.globSync('**/*.txt', { cwd, exclude: ['dir/sub/**'] }))).toEqual(['dir/a.txt', 'dir/b.txt', 'file.txt']);
      expect(fs.globSync('**', { cwd: p('/dir/sub/deep') }).map(String).sort()).toEqual(['.', 'd.txt']);
      const viaPromise: string[] = [];
      for await (const path of (fs.promises as unknown as { glob(pattern: string, options: object): AsyncIterable<string> }).glob('dir/*.txt', { cwd })) viaPromise.push(path);
      expect(viaPromise.sort()).toEqual(['dir/a.txt', 'dir/b.txt']);
    });
  });
}
