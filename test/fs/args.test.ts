import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setup, thrown } from './helpers.js';

describe('arguments as Node parses them', () => {
  it('paths may be strings, Buffers or file: URLs', () => {
    const { fs } = setup();
    expect(fs.readFileSync(Buffer.from('/etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(fs.readFileSync(pathToFileURL('/etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(thrown(() => fs.readFileSync(new URL('http://host/etc/passwd'))).code).toBe('ERR_INVALID_URL_SCHEME');
  });

  it('bad types are ERR_INVALID_ARG_TYPE TypeErrors worded like Node', () => {
    const { fs } = setup();
    const cases: [() => unknown, string][] = [
      [() => fs.statSync(undefined as never), 'The "path" argument must be of type string or an instance of Buffer or URL. Received undefined'],
      [() => fs.statSync(42 as never), 'The "path" argument must be of type string or an instance of Buffer or URL. Received type number (42)'],
      [() => fs.statSync({} as never), 'The "path" argument must be of type string or an instance of Buffer or URL. Received an instance of Object'],
      [() => fs.renameSync('/etc', 7 as never), 'The "newPath" argument must be of type string or an instance of Buffer or URL. Received type number (7)'],
      [() => fs.fstatSync('3' as never), 'The "fd" argument must be of type number. Received type string (\'3\')'],
      [() => fs.chownSync('/etc', 'x' as never, 0), 'The "uid" argument must be of type number. Received type string (\'x\')'],
      [() => fs.writeSync(3, 5 as never), 'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (5)'],
      [() => fs.readSync(3, undefined as never), 'The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. Received undefined'],
      [() => fs.mkdirSync('/x', { recursive: 1 as never }), 'The "options.recursive" property must be of type boolean. Received type number (1)'],
      [() => fs.readFileSync('/etc/passwd', 5 as never), 'The "options" argument must be one of type string or object. Received type number (5)'],
      [() => fs.utimesSync('/etc', {} as never, 1), 'The "time" argument must be an instance of Date or an Time in seconds. Received an instance of Object'],
    ];
    for (const [action, message] of cases) {
      const error = thrown(action);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(error.message).toBe(message);
    }
  });

  it('bad values are ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE', () => {
    const { fs } = setup();
    expect(thrown(() => fs.readFileSync('/etc\0passwd'))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: "The argument 'path' must be a string, Uint8Array, or URL without null bytes. Received '/etc\\x00passwd'",
    });
    expect(thrown(() => fs.readFileSync('/etc/passwd', 'klingon' as never)).message).toBe("The argument 'encoding' is invalid encoding. Received 'klingon'");
    expect(thrown(() => fs.chmodSync('/etc', 'abc'))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const range = thrown(() => fs.fstatSync(-1));
    expect(range).toBeInstanceOf(RangeError);
    expect(range.message).toBe('The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received -1');
    expect(thrown(() => fs.chownSync('/etc', -2, 0)).message).toBe('The value of "uid" is out of range. It must be >= -1 && <= 4294967295. Received -2');
  });

  it('string flags in both letter orders, numeric flags, and octal string modes', () => {
    const { fs } = setup();
    fs.closeSync(fs.openSync('/a', 'xw'));
    expect(thrown(() => fs.openSync('/a', 'wx')).code).toBe('EEXIST');
    fs.closeSync(fs.openSync('/b', fs.constants.O_CREAT | fs.constants.O_WRONLY, '600'));
    expect(fs.statSync('/b').mode & 0o777).toBe(0o600);
  });
});

describe('relative paths, the working directory and the umask', () => {
  it('relative paths start at / and then at chdir', () => {
    const { fs } = setup();
    expect(fs.readFileSync('etc/passwd', 'utf8')).toBe('root:x:0:0\n');
    fs.chdir('/home/user');
    expect(fs.cwd()).toBe('/home/user');
    expect(fs.readFileSync('notes.txt', 'utf8')).toBe('remember');
    expect(fs.readFileSync('../../etc/passwd', 'utf8')).toBe('root:x:0:0\n');
    fs.writeFileSync('new.txt', 'n');
    expect(fs.existsSync('/home/user/new.txt')).toBe(true);
    expect(thrown(() => fs.statSync('missing'))).toMatchObject({ path: 'missing', message: "ENOENT: no such file or directory, stat 'missing'" });
    expect(thrown(() => fs.chdir('/etc/passwd'))).toMatchObject({ code: 'ENOTDIR', syscall: 'chdir' });
  });

  it('an empty path names nothing', () => {
    const { fs } = setup();
    expect(thrown(() => fs.statSync(''))).toMatchObject({ code: 'ENOENT', syscall: 'stat', path: '' });
  });

  it('created modes lose the umask bits; the umask can change', () => {
    const { fs } = setup();
    fs.writeFileSync('/f', '', { mode: 0o666 });
    expect(fs.statSync('/f').mode & 0o777).toBe(0o644);
    expect(fs.umask(0o077)).toBe(0o022);
    fs.mkdirSync('/d');
    expect(fs.statSync('/d').mode & 0o777).toBe(0o700);
  });
});
