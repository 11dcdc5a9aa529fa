import * as nodeFs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../src/index.js';
import { fixtureFromSync } from '../../src/testing.js';
import { writeSpec } from '../conformance/fixture.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Random sequences of fs calls run on a container fs and on node:fs over the same tree: every
 * call must succeed on both or fail on both with the same code and syscall, and the two trees
 * must stay equal (names, kinds, modes, contents, link targets, hard-link groups).
 */
type Fs = typeof nodeFs;

const BASE: LayerSpec = {
  '/a/one': 'lower one',
  '/a/two': { kind: 'file', data: 'lower two', mode: 0o600 },
  '/a/sub/deep': 'deep',
  '/b': { kind: 'dir', mode: 0o755 },
  '/top': 'top file',
  '/ln': { kind: 'symlink', target: 'a/one' },
  '/ld': { kind: 'symlink', target: 'a' },
  '/h1': 'linked',
  '/h2': { kind: 'link', target: '/h1' },
};

const PATHS = ['/a', '/a/one', '/a/two', '/a/sub', '/a/sub/deep', '/a/new', '/b', '/b/x', '/b/y', '/top', '/ln', '/ld', '/ld/one', '/ld/new', '/h1', '/h2', '/c', '/c/z', '/b/'];
const path = fc.constantFrom(...PATHS);
const data = fc.constantFrom('', 'x', 'hello', 'a longer line of text\n');

type Call = { name: string; run: (fs: Fs, p: (path: string) => string) => unknown };

const calls: fc.Arbitrary<Call>[] = [
  fc.tuple(path, data).map(([at, text]) => ({ name: `writeFile ${at}`, run: (fs, p) => fs.writeFileSync(p(at), text) })),
  fc.tuple(path, data).map(([at, text]) => ({ name: `appendFile ${at}`, run: (fs, p) => fs.appendFileSync(p(at), text) })),
  path.map((at) => ({ name: `mkdir ${at}`, run: (fs, p) => fs.mkdirSync(p(at)) })),
  path.map((at) => ({ name: `mkdir -p ${at}/q`, run: (fs, p) => fs.mkdirSync(p(`${at}/q`), { recursive: true }) && undefined })),
  path.map((at) => ({ name: `unlink ${at}`, run: (fs, p) => fs.unlinkSync(p(at)) })),
  path.map((at) => ({ name: `rmdir ${at}`, run: (fs, p) => fs.rmdirSync(p(at)) })),
  path.map((at) => ({ name: `rm -rf ${at}`, run: (fs, p) => fs.rmSync(p(at), { recursive: true, force: true }) })),
  fc.tuple(path, path).map(([from, to]) => ({ name: `rename ${from} ${to}`, run: (fs, p) => fs.renameSync(p(from), p(to)) })),
  fc.tuple(path, path).map(([from, to]) => ({ name: `link ${from} ${to}`, run: (fs, p) => fs.linkSync(p(from), p(to)) })),
  fc.tuple(path, path).map(([target, at]) => ({ name: `symlink ${target} ${at}`, run: (fs, p) => fs.symlinkSync(target.slice(1), p(at)) })),
  fc.tuple(path, path).map(([from, to]) => ({
    name: `copyFile ${from} ${to}`,
    // libuv opens and truncates the destination before it finds the source is a directory, then
    // unlinks it; layerfs refuses first. Both answer EISDIR; only the former loses the target.
    run: (fs, p) => (fs.statSync(p(from), { throwIfNoEntry: false })?.isDirectory() ? 'skipped' : fs.copyFileSync(p(from), p(to))),
  })),
  fc.tuple(path, fc.nat(12)).map(([at, size]) => ({ name: `truncate ${at} ${size}`, run: (fs, p) => fs.truncateSync(p(at), size) })),
  fc.tuple(path, fc.constantFrom(0o600, 0o644, 0o755, 0o700)).map(([at, mode]) => ({ name: `chmod ${at} ${mode.toString(8)}`, run: (fs, p) => fs.chmodSync(p(at), mode) })),
  fc.tuple(path, fc.nat(10), data).map(([at, position, text]) => ({
    name: `pwrite ${at} @${position}`,
    run: (fs, p) => {
      const fd = fs.openSync(p(at), 'r+');
      try {
        fs.writeSync(fd, text, position);
      } finally {
        fs.closeSync(fd);
      }
    },
  })),
  fc.tuple(path, fc.constantFrom('r', 'r+', 'w', 'wx', 'a', 'a+', 'w+')).map(([at, flags]) => ({
    name: `open ${at} ${flags}`,
    run: (fs, p) => fs.closeSync(fs.openSync(p(at), flags)),
  })),
  fc.tuple(path, path).map(([from, to]) => ({ name: `cp -r ${from} ${to}`, run: (fs, p) => fs.cpSync(p(from), p(to), { recursive: true }) })),
  path.map((at) => ({ name: `rm ${at}`, run: (fs, p) => fs.rmSync(p(at)) })),
  path.map((at) => ({ name: `realpath ${at}`, run: (fs, p) => (fs.realpathSync(p(at)) as string).slice(p('').length) })),
  path.map((at) => ({ name: `exists ${at}`, run: (fs, p) => fs.existsSync(p(at)) })),
  path.map((at) => ({ name: `readFile ${at}`, run: (fs, p) => fs.readFileSync(p(at), 'utf8') })),
  path.map((at) => ({ name: `readdir ${at}`, run: (fs, p) => (fs.readdirSync(p(at)) as string[]).sort() })),
  path.map((at) => ({ name: `stat ${at}`, run: (fs, p) => summarize(fs.statSync(p(at))) })),
  path.map((at) => ({ name: `lstat ${at}`, run: (fs, p) => summarize(fs.lstatSync(p(at))) })),
];

function summarize(stat: nodeFs.Stats) {
  // A link's size is its target's length, and cp writes targets under each side's own root.
  return { mode: stat.mode, size: stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'link' : stat.size, nlink: stat.isDirectory() ? 'dir' : stat.nlink };
}

/** The outcome of a call: its value, or the error's code and syscall. */
function outcome(call: Call, fs: Fs, p: (path: string) => string): unknown {
  try {
    return { ok: call.run(fs, p) ?? null };
  } catch (error) {
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (code === undefined) throw error;
    return { code, syscall };
  }
}

/** The whole tree: kinds, modes, contents, link targets, and which paths share an inode. */
function tree(fs: Fs, root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const groups = new Map<number, string>();
  const visit = (dir: string) => {
    for (const name of (fs.readdirSync(root + dir || '/') as string[]).sort()) {
      const at = `${dir}/${name}`;
      const stat = fs.lstatSync(root + at);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isDirectory()) {
        out[at] = `dir ${mode}`;
        visit(at);
      } else if (stat.isSymbolicLink()) {
        // cp writes absolute link targets: the same place, under each target's own root.
        const target = fs.readlinkSync(root + at) as string;
        out[at] = `link ${root && target.startsWith(`${root}/`) ? target.slice(root.length) : target}`;
      }
      else {
        const group = groups.get(stat.ino) ?? at;
        groups.set(stat.ino, group);
        out[at] = `file ${mode} nlink=${stat.nlink} same-as=${group} ${JSON.stringify(fs.readFileSync(root + at, 'utf8'))}`;
      }
    }
  };
  visit('');
  return out;
}

// The same tree as three layers: what the upper ones hide (a whiteout, an opaque directory, a file
// over a lower directory) must never show through.
const LAYERED: LayerSpec[] = [
  { '/a/one': 'oldest one', '/a/gone': 'whited out', '/b/hidden': 'under an opaque dir', '/top/was-a-dir': 'x', '/h1': 'old' },
  { '/a/one': 'old one', '/a/sub/deep': 'deep', '/b': { kind: 'dir', opaque: true, mode: 0o755 }, '/a/gone': { kind: 'whiteout' } },
  { ...BASE, '/a/sub/deep': 'deep' },
];

describe.each([
  { name: 'one layer', layers: [BASE] },
  { name: 'three layers', layers: LAYERED },
])('a container fs over $name behaves like node:fs under random calls', ({ layers }) => {
  const fixture = fixtureFromSync(layers);

  it('same outcomes and same trees', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(...calls), { minLength: 1, maxLength: 25 }), (sequence) => {
        const memory = fixture.fs({ umask: process.umask() }) as unknown as Fs;
        const disk = tempDir('layerfs-differential-');
        writeSpec(disk, BASE);
        const mine = (at: string) => at;
        const theirs = (at: string) => disk + at;
        for (const [step, call] of sequence.entries()) {
          const expected = outcome(call, nodeFs, theirs);
          const actual = outcome(call, memory, mine);
          expect(actual, `step ${step}: ${call.name}`).toEqual(expected);
        }
        expect(tree(memory, '')).toEqual(tree(nodeFs, disk));
        nodeFs.rmSync(disk, { recursive: true, force: true });
      }),
      { numRuns: Number(process.env.DIFFERENTIAL_RUNS ?? 150), seed: process.env.DIFFERENTIAL_SEED ? Number(process.env.DIFFERENTIAL_SEED) : undefined },
    );
  });
});
