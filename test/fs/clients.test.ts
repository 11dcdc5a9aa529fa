import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import git from 'isomorphic-git';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../src/index.js';
import { fixtureFrom } from '../../src/testing.js';
import { writeSpec } from '../conformance/fixture.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Real clients nobody here wrote, run on a container's fs and on node:fs over the same tree; the
 * results must agree. `root` prefixes paths: '' in the container, the temp dir on disk.
 */
type Fs = typeof nodeFs;

const PROJECT: LayerSpec = {
  '/repo/README.md': '# demo\n',
  '/repo/src/index.js': 'console.log("hello");\n',
  '/repo/src/util.js': 'export const one = 1;\n',
  '/repo/bin/run.sh': { kind: 'file', data: '#!/bin/sh\nnode src/index.js\n', mode: 0o755 },
};

async function targets(spec: LayerSpec): Promise<{ name: string; fs: Fs; root: string }[]> {
  const fixture = await fixtureFrom(spec);
  const disk = tempDir('layerfs-clients-');
  writeSpec(disk, spec);
  return [
    { name: 'layerfs', fs: fixture.fs() as unknown as Fs, root: '' },
    { name: 'node:fs', fs: nodeFs, root: disk },
  ];
}

/** Every path under `dir` with its kind, mode and content (or link target), for comparing trees. */
function snapshot(fs: Fs, dir: string, skip = new Set<string>()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    if ([...skip].some((prefix) => name === prefix || name.startsWith(`${prefix}/`))) continue;
    const full = path.posix.join(dir, name);
    const stat = fs.lstatSync(full);
    const mode = (stat.mode & 0o777).toString(8);
    if (stat.isSymbolicLink()) out[name] = `link ${fs.readlinkSync(full)}`;
    else if (stat.isDirectory()) out[name] = `dir ${mode}`;
    else out[name] = `file ${mode} ${fs.readFileSync(full, 'utf8')}`;
  }
  return out;
}

const author = { name: 'Layer Tester', email: 'tester@example.com', timestamp: 1_700_000_000, timezoneOffset: 0 };

/** init, add, commit, branch, change, commit, log, checkout back: what a CI job does with git. */
async function gitSession(fs: Fs, root: string) {
  const dir = `${root}/repo`;
  await git.init({ fs, dir, defaultBranch: 'main' });
  for (const filepath of ['README.md', 'src/index.js', 'src/util.js', 'bin/run.sh']) await git.add({ fs, dir, filepath });
  const first = await git.commit({ fs, dir, message: 'first', author });
  await git.branch({ fs, dir, ref: 'feature', checkout: true });
  fs.writeFileSync(`${dir}/src/util.js`, 'export const one = 1;\nexport const two = 2;\n');
  fs.unlinkSync(`${dir}/README.md`);
  fs.writeFileSync(`${dir}/NEW.md`, 'new file\n');
  await git.add({ fs, dir, filepath: 'src/util.js' });
  await git.add({ fs, dir, filepath: 'NEW.md' });
  await git.remove({ fs, dir, filepath: 'README.md' });
  const second = await git.commit({ fs, dir, message: 'second', author: { ...author, timestamp: author.timestamp + 60 } });
  const status = await git.statusMatrix({ fs, dir });
  const log = (await git.log({ fs, dir })).map((entry) => `${entry.oid} ${entry.commit.message.trim()}`);
  const featureTree = snapshot(fs, dir, new Set(['.git']));
  await git.checkout({ fs, dir, ref: 'main' });
  const mainTree = snapshot(fs, dir, new Set(['.git']));
  const objects = (fs.readdirSync(`${dir}/.git/objects`, { recursive: true }) as string[]).filter((name) => name.length === 41).sort();
  return { first, second, status, log, featureTree, mainTree, objects, branch: await git.currentBranch({ fs, dir }) };
}

describe('isomorphic-git on a container fs', () => {
  it('init, add, commit, log and checkout agree with node:fs', async () => {
    const [layer, disk] = await targets(PROJECT);
    const mine = await gitSession(layer!.fs, layer!.root);
    const reference = await gitSession(disk!.fs, disk!.root);
    expect(mine).toEqual(reference);
    expect(mine.log.map((line) => line.split(' ')[1])).toEqual(['second', 'first']);
    expect(mine.mainTree['README.md']).toBe('file 644 # demo\n');
    expect(mine.featureTree['NEW.md']).toBe('file 644 new file\n');
    expect(mine.mainTree['bin/run.sh']).toMatch(/^file 755 /);
    expect(mine.branch).toBe('main');
  });

  it('leaves the fixture image untouched for the next container', async () => {
    const fixture = await fixtureFrom(PROJECT);
    const fs = fixture.fs() as unknown as Fs;
    await git.init({ fs, dir: '/repo' });
    expect(fs.existsSync('/repo/.git')).toBe(true);
    expect(fixture.fs().existsSync('/repo/.git')).toBe(false);
  });
});

// ---- tar ---------------------------------------------------------------------------------------

interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  mtime: Date;
  data?: string;
  linkname?: string;
}

const TAR_ENTRIES: TarEntry[] = [
  { name: 'pkg/', type: 'directory', mode: 0o755, mtime: new Date(1_600_000_000_000) },
  { name: 'pkg/package.json', type: 'file', mode: 0o644, mtime: new Date(1_600_000_001_000), data: '{"name":"pkg"}\n' },
  { name: 'pkg/lib/', type: 'directory', mode: 0o750, mtime: new Date(1_600_000_002_000) },
  { name: 'pkg/lib/main.js', type: 'file', mode: 0o644, mtime: new Date(1_600_000_003_000), data: 'module.exports = 42;\n'.repeat(500) },
  { name: 'pkg/bin/cli', type: 'file', mode: 0o755, mtime: new Date(1_600_000_004_000), data: '#!/usr/bin/env node\n' },
  { name: 'pkg/main', type: 'symlink', mode: 0o777, mtime: new Date(1_600_000_005_000), linkname: 'lib/main.js' },
  { name: 'pkg/lib/alias.js', type: 'link', mode: 0o644, mtime: new Date(1_600_000_003_000), linkname: 'pkg/lib/main.js' },
];

async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { data, ...header } of entries) pack.entry({ ...header, uid: 0, gid: 0 }, data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Extracts a tar through `fs` under `root`, as a tar tool does: files by stream, times last. */
async function extract(fs: Fs, root: string, archive: Buffer): Promise<void> {
  const extractor = tar.extract();
  const dirTimes: [string, Date][] = [];
  extractor.on('entry', (header, stream, next) => {
    const target = path.posix.join(root || '/', header.name);
    fs.mkdirSync(path.posix.dirname(target), { recursive: true });
    const done = (error?: unknown) => (error ? next(error as Error) : next());
    switch (header.type) {
      case 'directory':
        fs.mkdirSync(target, { recursive: true });
        fs.chmodSync(target, header.mode!);
        dirTimes.push([target, header.mtime!]);
        stream.resume();
        stream.on('end', done);
        return;
      case 'file':
        pipeline(stream, fs.createWriteStream(target, { mode: header.mode! })).then(() => {
          fs.chmodSync(target, header.mode!);
          fs.utimesSync(target, header.mtime!, header.mtime!);
          done();
        }, done);
        return;
      case 'symlink':
        fs.symlinkSync(header.linkname!, target);
        fs.lutimesSync(target, header.mtime!, header.mtime!);
        break;
      case 'link':
        fs.linkSync(path.posix.join(root || '/', header.linkname!), target);
        break;
    }
    stream.resume();
    stream.on('end', done);
  });
  await pipeline(Readable.from([archive]), extractor);
  for (const [dir, time] of dirTimes.reverse()) fs.utimesSync(dir, time, time);
}

/** Packs the tree under `root/dir` through `fs`: stat for headers, read streams for data. */
async function packTree(fs: Fs, root: string, dir: string): Promise<Buffer> {
  const pack = tar.pack();
  const collecting = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  const names = [dir, ...(fs.readdirSync(path.posix.join(root || '/', dir), { recursive: true }) as string[]).map((name) => `${dir}/${name}`)].sort();
  const seen = new Map<number, string>();
  for (const name of names) {
    const full = path.posix.join(root || '/', name);
    const stat = fs.lstatSync(full);
    const common = { name, mode: stat.mode & 0o7777, mtime: new Date(Math.floor(stat.mtimeMs / 1000) * 1000), uid: 0, gid: 0 };
    if (stat.isDirectory()) pack.entry({ ...common, type: 'directory' });
    else if (stat.isSymbolicLink()) pack.entry({ ...common, type: 'symlink', linkname: fs.readlinkSync(full, 'utf8') });
    else if (stat.nlink > 1 && seen.has(stat.ino)) pack.entry({ ...common, type: 'link', linkname: seen.get(stat.ino)! });
    else {
      seen.set(stat.ino, name);
      const entry = pack.entry({ ...common, type: 'file', size: stat.size });
      await pipeline(fs.createReadStream(full), entry);
    }
  }
  pack.finalize();
  return collecting;
}

describe('tar-stream through a container fs', () => {
  it('extracts and packs a tree exactly as on node:fs', async () => {
    const archive = await makeTar(TAR_ENTRIES);
    const results = [];
    for (const target of await targets({ '/srv/placeholder': 'x' })) {
      await extract(target.fs, `${target.root}/srv`, archive);
      const tree = snapshot(target.fs, `${target.root}/srv/pkg`);
      const stat = target.fs.statSync(`${target.root}/srv/pkg/lib/main.js`);
      const linked = target.fs.statSync(`${target.root}/srv/pkg/lib/alias.js`);
      const repacked = await packTree(target.fs, `${target.root}/srv`, 'pkg');
      results.push({ tree, mtime: stat.mtimeMs, nlink: stat.nlink, sameInode: stat.ino === linked.ino, repacked });
    }
    const [mine, reference] = results;
    expect(mine!.tree).toEqual(reference!.tree);
    expect(mine!.tree['lib']).toBe('dir 750');
    expect(mine!.tree['main']).toBe('link lib/main.js');
    expect(mine!.mtime).toBe(1_600_000_003_000);
    expect(mine!.nlink).toBe(2);
    expect(mine!.sameInode).toBe(true);
    expect(reference!.sameInode).toBe(true);
    // The archives packed through both filesystems are byte for byte the same.
    expect(Buffer.compare(mine!.repacked, reference!.repacked)).toBe(0);
  });
});
