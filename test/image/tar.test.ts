import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TarError, type TarWriteEntry, packTar, readTar, tarHeader, writeTar } from '../../src/image/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { formatPax } from '../../src/image/tar/pax.js';
import { type Member, collect, padded, rawHeader, systemTar, textOf } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const LONG_DIR = 'd'.repeat(120);
const LONG_FILE = 'f'.repeat(200);
const LONG_TARGET = `../${'t'.repeat(150)}`;

/** A tree with what tar formats disagree on: long names and targets, links, odd modes, ns times, xattrs. */
function makeTree(): string {
  const root = tempDir();
  const at = (name: string) => path.join(root, name);
  fs.mkdirSync(at(`${LONG_DIR}/sub`), { recursive: true });
  fs.writeFileSync(at(`${LONG_DIR}/sub/${LONG_FILE}`), 'deep and long');
  fs.writeFileSync(at('plain.txt'), 'plain');
  fs.writeFileSync(at('big.bin'), seededBytes(300_001, 1));
  fs.chmodSync(at('plain.txt'), 0o4751);
  fs.symlinkSync('plain.txt', at('short-link'));
  fs.symlinkSync(LONG_TARGET, at('long-link'));
  fs.linkSync(at('plain.txt'), at(`${LONG_DIR}/hard`));
  execFileSync('mkfifo', [at('fifo')]);
  execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(at('plain.txt'))}, 'user.note', b'va\\nl\\x00ue')`]);
  execFileSync('touch', ['-h', '-d', '@1234567890.123456789', at('plain.txt'), at('short-link')]);
  return root;
}

function byPath(members: Member[]): Map<string, Member> {
  return new Map(members.map((member) => [member.header.path.replace(/^\.\//, '').replace(/\/$/, ''), member]));
}

describe.each(['pax', 'gnu'])('reading GNU tar --format=%s', (format) => {
  it('gives every member with its type, long names and long link targets', async () => {
    const root = makeTree();
    const members = byPath(await collect(systemTar([`--format=${format}`, '-cf', '-', '-C', root, '.'])));
    expect([...members.keys()].sort()).toEqual(
      ['', 'big.bin', 'fifo', 'long-link', 'plain.txt', 'short-link', LONG_DIR, `${LONG_DIR}/hard`, `${LONG_DIR}/sub`, `${LONG_DIR}/sub/${LONG_FILE}`].sort(),
    );
    expect(textOf(members.get(`${LONG_DIR}/sub/${LONG_FILE}`))).toBe('deep and long');
    expectBytes(members.get('big.bin')!.data, seededBytes(300_001, 1));
    expect(members.get('short-link')!.header).toMatchObject({ type: 'symlink', linkpath: 'plain.txt', size: 0 });
    expect(members.get('long-link')!.header).toMatchObject({ type: 'symlink', linkpath: LONG_TARGET });
    expect(members.get('fifo')!.header.type).toBe('fifo');
    expect(members.get(LONG_DIR)!.header.type).toBe('dir');
  });

  it('gives the second name of a hard link as a link to the first', async () => {
    const root = makeTree();
    const members = await collect(systemTar([`--format=${format}`, '-cf', '-', '-C', root, '.']));
    const links = members.filter((member) => member.header.type === 'link');
    expect(links).toHaveLength(1);
    const names = [links[0]!.header.path, links[0]!.header.linkpath].map((name) => name.replace(/^\.\//, '')).sort();
    expect(names).toEqual([`${LONG_DIR}/hard`, 'plain.txt']);
    expect(links[0]!.data).toHaveLength(0);
  });

  it('gives modes, owners and mtime', async () => {
    const root = makeTree();
    const plain = byPath(await collect(systemTar([`--format=${format}`, '--owner=1234', '--group=99', '-cf', '-', '-C', root, '.']))).get('plain.txt')!;
    const stat = fs.lstatSync(path.join(root, 'plain.txt'), { bigint: true });
    // The hard link's first name might be either path: whichever tar met first carries the data.
    expect(plain.header).toMatchObject({ mode: 0o4751, uid: 1234, gid: 99 });
    if (format === 'pax') expect(plain.header.mtime).toBe(stat.mtimeNs);
    else expect(plain.header.mtime).toBe((stat.mtimeNs / 1_000_000_000n) * 1_000_000_000n);
  });
});

describe('reading PAX extensions from GNU tar', () => {
  it('gives nanosecond mtime, atime and ctime, negative ones too', async () => {
    const root = makeTree();
    execFileSync('touch', ['-h', '-d', '@-1.25', path.join(root, 'fifo')]);
    const stats = new Map(['plain.txt', 'fifo'].map((name) => [name, fs.lstatSync(path.join(root, name), { bigint: true })]));
    const members = byPath(await collect(systemTar(['--format=pax', '-cf', '-', '-C', root, 'plain.txt', 'fifo'])));
    expect(members.get('plain.txt')!.header).toMatchObject({ mtime: 1_234_567_890_123_456_789n, atime: stats.get('plain.txt')!.atimeNs, ctime: stats.get('plain.txt')!.ctimeNs });
    expect(members.get('fifo')!.header).toMatchObject({ mtime: -1_250_000_000n, atime: -1_250_000_000n });
  });

  it('gives extended attributes, binary values kept', async () => {
    const root = makeTree();
    const plain = byPath(await collect(systemTar(['--format=pax', '--xattrs', '-cf', '-', '-C', root, 'plain.txt']))).get('plain.txt')!;
    expect([...plain.header.xattrs.keys()]).toEqual(['user.note']);
    expect(Buffer.from(plain.header.xattrs.get('user.note')!).toString('latin1')).toBe('va\nl\0ue');
  });

  it('gives ids too large for the ustar field (PAX uid in pax, base-256 in gnu)', async () => {
    const root = makeTree();
    for (const format of ['pax', 'gnu']) {
      const archive = systemTar([`--format=${format}`, '--owner=3000000', '--group=4000000', '-cf', '-', '-C', root, 'plain.txt']);
      const [member] = await collect(archive);
      expect(member!.header, format).toMatchObject({ uid: 3_000_000, gid: 4_000_000 });
    }
  });

  it.skipIf(!isRoot)('gives device numbers', async () => {
    const root = tempDir();
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(root, 'disk'), 'b', '259', '70000']);
    const members = byPath(await collect(systemTar(['--format=pax', '-cf', '-', '-C', root, '.'])));
    expect(members.get('null')!.header).toMatchObject({ type: 'chardev', devmajor: 1, devminor: 3 });
    expect(members.get('disk')!.header).toMatchObject({ type: 'blockdev', devmajor: 259, devminor: 70000 });
  });

  it('applies global headers to every later member, local ones override, empty values delete', async () => {
    const global = formatPax([['uname', 'global'], ['comment', 'hi']]);
    const local = formatPax([['uname', 'local'], ['comment', '']]);
    const archive = Buffer.concat([
      rawHeader({ name: 'pax_global_header', typeflag: 'g', size: global.length }),
      padded(global),
      rawHeader({ name: 'a', typeflag: '0' }),
      rawHeader({ name: 'PaxHeaders/b', typeflag: 'x', size: local.length }),
      padded(local),
      rawHeader({ name: 'b', typeflag: '0' }),
      rawHeader({ name: 'c', typeflag: '0' }),
      new Uint8Array(1024),
    ]);
    const members = await collect(archive);
    expect(members.map((member) => [member.header.path, member.header.uname, member.header.pax.get('comment')])).toEqual([
      ['a', 'global', 'hi'],
      ['b', 'local', undefined],
      ['c', 'global', 'hi'],
    ]);
  });
});

describe('reading from streams', () => {
  it('gives the same members from a Readable with small chunks, from 1-byte chunks, and from bytes', async () => {
    const root = makeTree();
    const archive = systemTar(['--format=pax', '-cf', '-', '-C', root, '.']);
    const file = path.join(tempDir(), 'a.tar');
    fs.writeFileSync(file, archive);
    // Data as base64: toEqual on long byte arrays is slow.
    const summary = (members: Member[]) => members.map(({ header, data }) => ({ header, data: Buffer.from(data).toString('base64') }));
    const whole = summary(await collect(archive));
    expect(summary(await collect(fs.createReadStream(file, { highWaterMark: 777 })))).toEqual(whole);
    const small = systemTar(['--format=pax', '-cf', '-', '-C', root, 'plain.txt', 'short-link']);
    expect(await collect((function* () { for (const byte of small) yield Uint8Array.of(byte); })())).toEqual(await collect(small));
    expect(summary(await collect(Readable.from([archive.subarray(0, 1000), archive.subarray(1000)])))).toEqual(whole);
  });

  it('skips the bodies nobody reads', async () => {
    const archive = packTar([
      { path: 'a', type: 'file', data: seededBytes(100_000, 1) },
      { path: 'b', type: 'file', data: Buffer.from('bee') },
    ]);
    const names: string[] = [];
    for await (const { header } of readTar(archive)) names.push(header.path);
    expect(names).toEqual(['a', 'b']);
  });

  it('refuses a body read after the next member was asked for', async () => {
    const archive = packTar([{ path: 'a', type: 'file', data: Buffer.from('x'.repeat(2000)) }, { path: 'b', type: 'file' }]);
    const iterator = readTar(archive)[Symbol.asyncIterator]();
    const first = (await iterator.next()).value!;
    await iterator.next();
    await expect(collectBody(first.body)).rejects.toThrow(/after the next entry/);
  });

  it('rejects a source of strings', async () => {
    await expect(collect(Readable.from(['not bytes'], { objectMode: true }))).rejects.toThrow(TypeError);
  });
});

async function collectBody(body: AsyncIterable<Uint8Array>): Promise<number> {
  let length = 0;
  for await (const chunk of body) length += chunk.length;
  return length;
}

async function tarError(source: Parameters<typeof collect>[0]): Promise<TarError> {
  try {
    await collect(source);
  } catch (error) {
    if (error instanceof TarError) return error;
    throw error;
  }
  throw new Error('read without a TarError');
}

describe('reading bad archives', () => {
  const archive = () => packTar([
    { path: 'first', type: 'file', data: Buffer.from('1'.repeat(700)) },
    // One name component over 100 bytes: ustar cannot split it, so a PAX header comes first.
    { path: `dir/${'n'.repeat(150)}`, type: 'file', data: Buffer.from('two') },
    { path: 'third', type: 'dir' },
  ]);

  it('reports a header with a bad checksum, naming the offset', async () => {
    const bytes = archive();
    bytes[1536 + 1024 + 5] = bytes[1536 + 1024 + 5]! ^ 0x01; // inside the ustar header of the second member, after its PAX header
    const error = await tarError(bytes);
    expect(error.message).toMatch(/checksum/);
    expect(error.offset).toBe(1536 + 1024);
    expect(error.message).toMatch(/at offset 2560/);
  });

  it('reports garbage as not a tar header at offset 0', async () => {
    const error = await tarError(seededBytes(4096, 3));
    expect(error.message).toMatch(/not a tar header/);
    expect(error.offset).toBe(0);
  });

  it('reports every truncation inside a member; a cut between members reads the members before it', async () => {
    const bytes = archive();
    const full = await collect(bytes);
    const boundaries = new Map([[0, 0], [1536, 1], [3584, 2], [4096, 3]]);
    for (let length = 0; length < bytes.length; length += length < 4200 ? 1 : 97) {
      const cut = bytes.subarray(0, length);
      if (boundaries.has(length)) {
        expect(await collect(cut), `cut at ${length}`).toEqual(full.slice(0, boundaries.get(length)));
      } else if (length > 4096) {
        // Inside the end-of-archive blocks (a short zero block included): every member was read.
        expect(await collect(cut)).toEqual(full);
      } else {
        const error = await tarError(cut);
        expect(error.message, `cut at ${length}`).toMatch(/truncated|ends after an extended header/);
        expect(error.offset).toBeLessThanOrEqual(length);
      }
    }
  });

  it('reports a truncated body with the member name and its header offset', async () => {
    const error = await tarError(archive().subarray(0, 1000));
    expect(error.message).toMatch(/"first" has 700 bytes of data but the archive ends at offset 1000/);
    expect(error.offset).toBe(0);
  });

  it('rejects GNU sparse members, old and PAX style, and multi-volume members', async () => {
    expect((await tarError(Buffer.concat([rawHeader({ name: 'sparse', typeflag: 'S', magic: 'ustar  \0' }), new Uint8Array(1024)]))).message).toMatch(/sparse/);
    const records = Buffer.from('22 GNU.sparse.major=1\n');
    const paxSparse = Buffer.concat([rawHeader({ name: 'x', typeflag: 'x', size: records.length }), padded(records), rawHeader({ name: 's', typeflag: '0' }), new Uint8Array(1024)]);
    expect((await tarError(paxSparse)).message).toMatch(/sparse/);
    expect((await tarError(Buffer.concat([rawHeader({ name: 'm', typeflag: 'M' }), new Uint8Array(1024)]))).message).toMatch(/multi-volume/);
  });

  it('rejects an extended header larger than allowed instead of allocating it', async () => {
    const huge = rawHeader({ name: 'x', typeflag: 'x', size: 2 ** 40 });
    expect((await tarError(huge)).message).toMatch(/larger than/);
  });

  it('rejects malformed PAX values', async () => {
    const records = Buffer.from('13 size=12x4\n');
    const bad = Buffer.concat([rawHeader({ name: 'x', typeflag: 'x', size: records.length }), padded(records), rawHeader({ name: 'f', typeflag: '0' }), new Uint8Array(1024)]);
    expect((await tarError(bad)).message).toMatch(/bad PAX size/);
  });

  it('gives a TarError or members for any single corrupted byte, never another error', async () => {
    const bytes = packTar([
      { path: `d/${'n'.repeat(150)}`, type: 'file', data: Buffer.from('two'), mtime: 1_500_000_000n, xattrs: new Map([['user.a', Uint8Array.of(1)]]) },
      { path: 'l', type: 'symlink', linkpath: 'x'.repeat(120) },
    ]);
    for (let at = 0; at < 2048 + 512; at++) {
      for (const value of [0x00, 0x20, 0x30, 0x39, 0x3d, 0x0a, 0xff]) {
        const mutated = bytes.slice();
        mutated[at] = value;
        try {
          await collect(mutated);
        } catch (error) {
          if (!(error instanceof TarError)) throw new Error(`byte ${at} = ${value} gave ${String(error)}`);
        }
      }
    }
  });

  it('reads members of unknown type as "other", skipping their data', async () => {
    const members = await collect(Buffer.concat([rawHeader({ name: 'label', typeflag: 'V', size: 5 }), padded('hello'), rawHeader({ name: 'f', typeflag: '0' }), new Uint8Array(1024)]));
    expect(members.map((member) => [member.header.type, member.header.typeflag, member.header.path])).toEqual([['other', 'V', 'label'], ['file', '0', 'f']]);
  });
});

describe('writing', () => {
  const everything = (): (TarWriteEntry & { data?: Uint8Array })[] => [
    { path: 'dir', type: 'dir', mode: 0o1777, uid: 5, gid: 6, uname: 'user', gname: 'group', mtime: 1_000_000_000_000_000_000n },
    { path: 'dir/file', type: 'file', mode: 0o4755, data: Buffer.from('content'), mtime: 1_234_567_890_123_456_789n, atime: -1_500_000_000n, ctime: 5n },
    { path: `${'a'.repeat(100)}/${'b'.repeat(100)}`, type: 'file', data: Buffer.from('split name') },
    { path: `${'long-'.repeat(40)}/x`, type: 'file', data: seededBytes(1025, 2) },
    { path: 'ünïcødé/名前', type: 'file', data: Buffer.from('utf-8') },
    { path: 'link', type: 'link', linkpath: 'dir/file' },
    { path: 'symlink', type: 'symlink', linkpath: `/${'target/'.repeat(30)}` },
    { path: 'null', type: 'chardev', devmajor: 1, devminor: 3, mode: 0o666 },
    { path: 'disk', type: 'blockdev', devmajor: 259, devminor: 70000 },
    { path: 'fifo', type: 'fifo', mtime: -86_400_000_000_000n },
    { path: 'ids', type: 'file', uid: 3_000_000, gid: 4_000_000_000, uname: 'u'.repeat(40), gname: 'g'.repeat(33) },
    { path: 'xattrs', type: 'file', xattrs: new Map([['user.z', Uint8Array.of(0, 10, 255)], ['security.capability', new Uint8Array(0)], ['user.a', Buffer.from('=\n=')]]) },
  ];

  it('reads back exactly what was written', async () => {
    const members = await collect(packTar(everything()));
    const written = everything();
    expect(members).toHaveLength(written.length);
    for (const [i, entry] of written.entries()) {
      const { header, data } = members[i]!;
      const expectedPath = entry.type === 'dir' ? `${entry.path}/` : entry.path;
      expect(header.path).toBe(expectedPath);
      expect(header.type).toBe(entry.type);
      expect(header.mode).toBe(entry.mode ?? (entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644));
      expect(header.uid).toBe(entry.uid ?? 0);
      expect(header.gid).toBe(entry.gid ?? 0);
      expect(header.uname).toBe(entry.uname ?? '');
      expect(header.gname).toBe(entry.gname ?? '');
      expect(header.mtime).toBe(entry.mtime ?? 0n);
      expect(header.atime).toBe(entry.atime);
      expect(header.ctime).toBe(entry.ctime);
      expect(header.linkpath).toBe(entry.linkpath ?? '');
      if (entry.devmajor !== undefined) expect([header.devmajor, header.devminor]).toEqual([entry.devmajor, entry.devminor]);
      expect(new Map([...header.xattrs].map(([name, value]) => [name, new Uint8Array(value)]))).toEqual(new Map([...(entry.xattrs ?? [])].map(([name, value]) => [name, new Uint8Array(value)])));
      expectBytes(data, entry.data ?? new Uint8Array(0));
    }
  });

  it('is deterministic', () => {
    expect(packTar(everything())).toEqual(packTar(everything()));
  });

  it('uses plain ustar when nothing needs PAX, and splits long names into prefix and name', () => {
    const archive = packTar([{ path: `${'a'.repeat(100)}/${'b'.repeat(100)}`, type: 'file', mtime: 5_000_000_000n }]);
    expect(archive).toHaveLength(512 + 1024);
    expect(Buffer.from(archive.subarray(257, 265)).toString('latin1')).toBe('ustar\x0000');
  });

  it('streams data from iterables and checks it against the size', async () => {
    const parts: Uint8Array[] = [];
    for await (const part of writeTar([{ path: 'f', type: 'file', size: 6, data: (async function* () { yield Buffer.from('abc'); yield Buffer.from('def'); })() }])) parts.push(part);
    const members = await collect(Buffer.concat(parts));
    expect(textOf(members[0])).toBe('abcdef');
    const wrong = writeTar([{ path: 'f', type: 'file', size: 5, data: [Buffer.from('abc')] }]);
    await expect((async () => { for await (const _ of wrong) void _; })()).rejects.toThrow(/3 bytes of data for a size of 5/);
  });

  it('writes sizes of 8 GiB and more in PAX and base-256', async () => {
    const size = 9 * 2 ** 30;
    const header = tarHeader({ path: 'huge', type: 'file', size });
    for await (const { header: read } of readTar(header)) {
      expect(read.size).toBe(size);
      break;
    }
  });

  it('is read by GNU tar: names, contents, links, ns times and xattrs', () => {
    const dir = tempDir();
    const archive = path.join(dir, 'ours.tar');
    const entries = everything().filter((entry) => entry.type !== 'chardev' && entry.type !== 'blockdev' || isRoot);
    fs.writeFileSync(archive, packTar(entries));
    const listed = systemTar(['-tf', archive]).toString().trim().split('\n');
    expect(listed).toEqual(entries.map((entry) => (entry.type === 'dir' ? `${entry.path}/` : entry.path)));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    systemTar(['--xattrs', '--xattrs-include=user.*', '-xf', archive, '-C', out]);
    expect(fs.readFileSync(path.join(out, 'dir/file'), 'utf8')).toBe('content');
    expect(fs.readFileSync(path.join(out, `${'long-'.repeat(40)}/x`))).toEqual(Buffer.from(seededBytes(1025, 2)));
    expect(fs.statSync(path.join(out, 'dir/file'), { bigint: true }).mtimeNs).toBe(1_234_567_890_123_456_789n);
    expect(fs.statSync(path.join(out, 'link')).ino).toBe(fs.statSync(path.join(out, 'dir/file')).ino);
    expect(fs.readlinkSync(path.join(out, 'symlink'))).toBe(`/${'target/'.repeat(30)}`);
    const xattr = execFileSync('python3', ['-c', `import os,sys; sys.stdout.buffer.write(os.getxattr(${JSON.stringify(path.join(out, 'xattrs'))}, 'user.z'))`]);
    expect(new Uint8Array(xattr)).toEqual(Uint8Array.of(0, 10, 255));
  });
});
