import { once } from 'node:events';
import { describe, expect } from 'vitest';
import { type Ctx, expectErrno, rejected } from './context.js';

function call<T>(start: (callback: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** The callback and promise forms, FileHandle, streams and watch. */
export function asynchronous(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test();

  describe('callbacks and promises', () => {
    test('callbacks deliver results and errors', async () => {
      const { fs } = ctx;
      expect(await call<string>((cb) => fs.readFile(p('/file.txt'), 'utf8', cb))).toBe('hello world\n');
      await call((cb) => fs.writeFile(p('/new'), 'data', cb));
      expect(await call<string[]>((cb) => fs.readdir(p('/dir'), cb))).toHaveLength(3);
      const fd = await call<number>((cb) => fs.open(p('/new'), 'r', cb));
      const [bytesRead, buffer] = await new Promise<[number, Buffer]>((resolve, reject) =>
        fs.read(fd, Buffer.alloc(10), 0, 10, 0, (error, n, b) => (error ? reject(error) : resolve([n, b]))),
      );
      expect(buffer.subarray(0, bytesRead).toString()).toBe('data');
      await call((cb) => fs.close(fd, cb));
      const error = await call((cb) => fs.stat(p('/missing'), cb)).catch((e: NodeJS.ErrnoException) => e);
      expectErrno(error as never, { code: 'ENOENT', syscall: 'stat', path: p('/missing') });
      expect(await new Promise((resolve) => fs.exists(p('/new'), resolve))).toBe(true);
    });

    test('promises, FileHandle and rejections', async () => {
      const { fs } = ctx;
      expect(await fs.promises.readFile(p('/file.txt'), 'utf8')).toBe('hello world\n');
      await fs.promises.writeFile(p('/p'), ['a', 'b', 'c']);
      expect(await fs.promises.readFile(p('/p'), 'utf8')).toBe('abc');
      const handle = await fs.promises.open(p('/p'), 'r+');
      expect(typeof handle.fd).toBe('number');
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(3), 0, 3, 0);
      expect(buffer.subarray(0, bytesRead).toString()).toBe('abc');
      expect((await handle.write('Z', 1)).bytesWritten).toBe(1);
      expect((await handle.stat()).size).toBe(3);
      await handle.truncate(2);
      expect(await handle.readFile({ encoding: 'utf8' })).toBe('aZ');
      await handle.close();
      expect(await fs.promises.readFile(p('/p'), 'utf8')).toBe('aZ');
      expectErrno(await rejected(fs.promises.readFile(p('/missing'))), { code: 'ENOENT', syscall: 'open', path: p('/missing') });
      expectErrno(await rejected(fs.promises.rmdir(p('/dir'))), { code: 'ENOTEMPTY', syscall: 'rmdir', path: p('/dir') });
      expect((await fs.promises.stat(p('/dir'), { bigint: true })).isDirectory()).toBe(true);
      expect(await fs.promises.mkdir(p('/q/r'), { recursive: true })).toBe(p('/q'));
      await fs.promises.rm(p('/q'), { recursive: true });
      await fs.promises.access(p('/file.txt'));
      expect((await rejected(fs.promises.readFile(p('/file.txt'), { flag: 'z' }))).code).toBe('ERR_INVALID_ARG_VALUE');
      expect((await rejected(fs.promises.readFile(5 as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    });
  });

  describe('streams', () => {
    test('a write stream, then read streams over all and over a range', async () => {
      const { fs } = ctx;
      const out = fs.createWriteStream(p('/streamed'));
      const [opened] = await once(out, 'open');
      expect(typeof opened).toBe('number');
      out.write('0123');
      out.write(Buffer.from('4567'));
      out.end('89');
      await once(out, 'close');
      expect(out.bytesWritten).toBe(10);
      const chunks: string[] = [];
      for await (const chunk of fs.createReadStream(p('/streamed'), { highWaterMark: 4 })) chunks.push(String(chunk));
      expect(chunks).toEqual(['0123', '4567', '89']);
      let range = '';
      for await (const chunk of fs.createReadStream(p('/streamed'), { start: 2, end: 5, encoding: 'utf8' })) range += chunk;
      expect(range).toBe('2345');
    });

    test('an append stream and a positioned write stream', async () => {
      const { fs } = ctx;
      const append = fs.createWriteStream(p('/file.txt'), { flags: 'a' });
      append.end('tail');
      await once(append, 'close');
      const patch = fs.createWriteStream(p('/file.txt'), { flags: 'r+', start: 0 });
      patch.end('J');
      await once(patch, 'close');
      expect(fs.readFileSync(p('/file.txt'), 'utf8')).toBe('Jello world\ntail');
    });

    test('a read stream of a missing file errors with open', async () => {
      const { fs } = ctx;
      const stream = fs.createReadStream(p('/missing'));
      const [error] = await once(stream, 'error');
      expectErrno(error, { code: 'ENOENT', syscall: 'open', path: p('/missing') });
    });
  });

  describe('watch', () => {
    ctx.test('watch')('fs.watch on a directory sees a file appear and change', async () => {
      const { fs } = ctx;
      const watcher = fs.watch(p('/dir'));
      const events: string[] = [];
      const seen = new Promise<void>((resolve) => {
        watcher.on('change', (type, name) => {
          events.push(`${type}:${name}`);
          if (events.includes('change:fresh')) resolve();
        });
      });
      fs.writeFileSync(p('/dir/fresh'), 'x');
      await seen;
      watcher.close();
      expect(events).toContain('rename:fresh');
    });
  });
}
