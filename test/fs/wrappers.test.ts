import { describe, expect, it } from 'vitest';
import { createFs as createFsOver } from '../../src/index.js';
import { setup, thrown } from './helpers.js';

describe('callback form', () => {
  it('calls back on a later turn, never synchronously', async () => {
    const { fs } = setup();
    let called = false;
    const done = new Promise<string>((resolve, reject) =>
      fs.readFile('/etc/hosts', 'utf8', (error, data) => {
        called = true;
        if (error) reject(error);
        else resolve(data);
      }),
    );
    expect(called).toBe(false);
    expect(await done).toBe('127.0.0.1 localhost\n');
  });

  it('throws bad arguments synchronously and passes filesystem errors to the callback', async () => {
    const { fs } = setup();
    expect(thrown(() => fs.readFile(42n as never, () => {})).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => fs.stat('/etc/hosts', undefined as never)).message).toBe('The "cb" argument must be of type function. Received undefined');
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => fs.unlink('/nope', resolve));
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'unlink', path: '/nope' });
  });

  it('fs.read without a buffer reads into a new 16 KiB one; fs.write reports the string it wrote', async () => {
    const { fs } = setup();
    const fd = fs.openSync('/etc/passwd', 'r+');
    const [bytesRead, buffer] = await new Promise<[number, Buffer]>((resolve, reject) =>
      fs.read(fd, (error, n, b) => (error ? reject(error) : resolve([n, b]))),
    );
    expect(bytesRead).toBe(11);
    expect(buffer.length).toBe(16384);
    const [written, data] = await new Promise<[number, string]>((resolve, reject) =>
      fs.write(fd, 'ROOT', 0, 'utf8', (error, n, s) => (error ? reject(error) : resolve([n, s]))),
    );
    expect([written, data]).toEqual([4, 'ROOT']);
    const [readBack, into] = await new Promise<[number, Buffer]>((resolve, reject) =>
      fs.read(fd, { buffer: Buffer.alloc(4), position: 0 }, (error, n, b) => (error ? reject(error) : resolve([n, b]))),
    );
    expect(into.subarray(0, readBack).toString()).toBe('ROOT');
    fs.closeSync(fd);
  });

  it('fs.exists calls back with a bare boolean', async () => {
    const { fs } = setup();
    expect(await new Promise((resolve) => fs.exists('/etc', resolve))).toBe(true);
    expect(await new Promise((resolve) => fs.exists('/nope', resolve))).toBe(false);
  });

  it('mkdir recursive and mkdtemp hand their path to the callback', async () => {
    const { fs } = setup();
    expect(await new Promise((resolve) => fs.mkdir('/a/b', { recursive: true }, (_, path) => resolve(path)))).toBe('/a');
    const made = await new Promise<string>((resolve) => fs.mkdtemp('/tmp-', (_, path) => resolve(path)));
    expect(fs.statSync(made).isDirectory()).toBe(true);
  });
});

describe('promise form', () => {
  it('rejects bad arguments instead of throwing', async () => {
    const { fs } = setup();
    const pending = fs.promises.readFile({} as never);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('FileHandle: read shapes, readFile from the offset, writeFile, close twice, EBADF after close', async () => {
    const { fs } = setup();
    const handle = await fs.promises.open('/etc/hosts', 'r+');
    const first = await handle.read({ buffer: Buffer.alloc(4) });
    expect(first.buffer.toString()).toBe('127.');
    expect((await handle.read()).buffer.length).toBe(16384);
    const { bytesRead, buffers } = await handle.readv([Buffer.alloc(3), Buffer.alloc(3)], 0);
    expect([bytesRead, buffers.map(String)]).toEqual([6, ['127', '.0.']]);
    await handle.writeFile('new hosts');
    await handle.chmod(0o600);
    await handle.utimes(1, 2);
    await handle.sync();
    await handle.datasync();
    expect((await handle.stat()).mode & 0o777).toBe(0o600);
    expect(await fs.promises.readFile(handle, 'utf8')).toBe('');
    await handle.close();
    await handle.close();
    expect(handle.fd).toBe(-1);
    await expect(handle.stat()).rejects.toMatchObject({ code: 'EBADF', syscall: 'fstat' });
    // Like Node's, FileHandle.writeFile writes at the handle's offset, not from the start.
    expect(fs.readFileSync('/etc/hosts', 'utf8')).toBe('127.0.0.1 localhost\nnew hosts');
  });

  it('writeFile takes an async iterable of chunks', async () => {
    const { fs } = setup();
    async function* chunks() {
      yield 'a';
      yield Buffer.from('b');
      yield new Uint8Array([99]);
    }
    await fs.promises.writeFile('/streamed', chunks());
    expect(fs.readFileSync('/streamed', 'utf8')).toBe('abc');
    await fs.promises.appendFile('/streamed', ['d', 'e'] as never);
    expect(fs.readFileSync('/streamed', 'utf8')).toBe('abcde');
  });

  it('FileHandle streams and readLines', async () => {
    const { fs } = setup();
    fs.writeFileSync('/lines', 'one\ntwo\nthree\n');
    const handle = await fs.promises.open('/lines');
    const lines: string[] = [];
    for await (const line of handle.readLines()) lines.push(line);
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(handle.fd).toBe(-1);
    const out = await fs.promises.open('/out', 'w');
    const stream = out.createWriteStream();
    stream.end('via handle');
    await new Promise((resolve) => stream.on('close', () => resolve(undefined)));
    expect(fs.readFileSync('/out', 'utf8')).toBe('via handle');
  });

  it('Dir has callback and promise forms and refuses use after close', async () => {
    const { fs } = setup();
    const dir = fs.opendirSync('/etc');
    const first = await new Promise((resolve) => dir.read((_, entry) => resolve(entry?.name)));
    expect(first).toBe('hosts');
    expect((await dir.read())?.name).toBe('passwd');
    expect(await dir.read()).toBeNull();
    await dir.close();
    expect(thrown(() => dir.readSync()).code).toBe('ERR_DIR_CLOSED');
    const recursive = await fs.promises.opendir('/home', { recursive: true });
    const names: string[] = [];
    for await (const entry of recursive) names.push(`${entry.parentPath}/${entry.name}`);
    expect(names).toEqual(['/home/user', '/home/user/notes.txt']);
  });
});

describe('the fs object', () => {
  it('has bound functions, so destructuring works as with node:fs', () => {
    const { fs } = setup();
    const { readFileSync, existsSync, promises } = fs;
    expect(readFileSync('/etc/passwd', 'utf8')).toBe('root:x:0:0\n');
    expect(existsSync('/etc')).toBe(true);
    expect(typeof promises.readFile).toBe('function');
    expect(fs.realpathSync.native('/link')).toBe('/etc/hosts');
    expect(fs.constants.O_CREAT).toBe(0o100);
    expect(fs.statSync('/etc')).toBeInstanceOf(fs.Stats);
  });

  it('file descriptors start at 3 and are reused lowest first', () => {
    const { fs } = setup();
    const a = fs.openSync('/etc/hosts', 'r');
    const b = fs.openSync('/etc/hosts', 'r');
    expect([a, b]).toEqual([3, 4]);
    fs.closeSync(a);
    expect(fs.openSync('/etc/passwd', 'r')).toBe(3);
  });

  it('two fs objects over one container share the tree but not descriptors', () => {
    const { container, fs } = setup();
    const other = createFsOver(container);
    fs.writeFileSync('/shared', 'x');
    expect(other.readFileSync('/shared', 'utf8')).toBe('x');
    const fd = fs.openSync('/shared', 'r');
    expect(thrown(() => other.fstatSync(fd + 10)).code).toBe('EBADF');
  });
});

describe('the fs object', () => {
  it('binds its functions on first use: destructured, replaced, and its own per fs', () => {
    const { fs, container } = setup();
    const { readFileSync, existsSync } = fs;
    expect(readFileSync('/etc/hosts', 'utf8')).toBe(fs.readFileSync('/etc/hosts', 'utf8'));
    expect(existsSync('/etc')).toBe(true);
    const other = createFsOver(container);
    expect(other.readFileSync).not.toBe(fs.readFileSync);
    const spy = () => Buffer.from('spied');
    (fs as { readFileSync: unknown }).readFileSync = spy;
    expect(fs.readFileSync).toBe(spy);
    expect(other.readFileSync('/etc/hosts', 'utf8')).not.toBe('spied');
    expect(fs.realpathSync.native('/etc/../etc')).toBe('/etc');
    expect(Object.keys(fs)).toContain('core');
  });
});

describe('an fs created for a user', () => {
  it('owns what it makes and needs search permission to chdir', () => {
    const { container } = setup();
    const root = createFsOver(container);
    root.mkdirSync('/private', 0o700);
    const user = createFsOver(container, { uid: 1000, gid: 100, groups: [50] });
    expect(user.core.caller).toEqual({ uid: 1000, gid: 100, groups: [50] });
    expect(thrown(() => user.chdir('/private')).code).toBe('EACCES');
    root.chmodSync('/private', 0o777);
    user.chdir('/private');
    user.writeFileSync('mine', '');
    expect([root.statSync('/private/mine').uid, root.statSync('/private/mine').gid]).toEqual([1000, 100]);
    // A supplementary group counts as the user's own: chown to it is allowed.
    user.chownSync('mine', -1, 50);
    expect(root.statSync('/private/mine').gid).toBe(50);
  });
});
