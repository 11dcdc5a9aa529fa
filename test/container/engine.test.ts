import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Container, type Digest, Engine, EngineError, Layer, upperDigests } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { corruptChunk, loseChunk } from '../helpers/store-faults.js';
import { tempDir } from '../helpers/tmp.js';
import { text, writeText } from './helpers.js';

const children = fileURLToPath(new URL('./children/', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Writes a tree of files (path -> content) under a new temporary directory. */
function hostTree(files: Record<string, string | Uint8Array>): string {
  const root = tempDir('layerfs-src-');
  for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), data);
  }
  return root;
}

/** A store with image `base` imported from a small tree. */
function storeWithBase(files: Record<string, string | Uint8Array> = { 'etc/hosts': '127.0.0.1 localhost\n', 'usr/bin/tool': 'tool' }) {
  const dir = path.join(tempDir('layerfs-store-'), 'store');
  const engine = Engine.open(dir, { lockWaitMs: 2000 });
  engine.importDirectory(hostTree(files), 'base');
  return { dir, engine };
}

function edit(engine: Engine, name: string, change: (container: Container) => void): void {
  const container = engine.openContainer(name);
  change(container);
  engine.saveContainer(name, container);
}

function errorOf(work: () => unknown): EngineError {
  try {
    work();
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected an EngineError');
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function spawnChild(script: string, args: string[]): ChildProcess & { lines: string[]; exited: Promise<NodeJS.Signals | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(children, script), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => {
    const parts = (partial + data.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => (signal === null && code !== 0 ? resolve(`exit ${code}: ${stderr}` as never) : resolve(signal))));
  return Object.assign(child, { lines, exited });
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Engine layout', () => {
  it('lays out blobs, images, containers and locks under the store folder', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    expect(fs.readdirSync(dir).sort()).toEqual(['blobs', 'containers', 'images', 'layerfs.json', 'locks', 'objects', 'tmp']);
    expect(fs.readdirSync(path.join(dir, 'images'))).toEqual(['base.json']);
    expect(fs.readdirSync(path.join(dir, 'containers'))).toEqual(['web.json']);
    const image = JSON.parse(fs.readFileSync(path.join(dir, 'images/base.json'), 'utf8'));
    expect(Object.keys(image).sort()).toEqual(['created', 'layers', 'name']);
    const container = JSON.parse(fs.readFileSync(path.join(dir, 'containers/web.json'), 'utf8'));
    expect(container).toMatchObject({ image: 'base', layers: image.layers, upper: null });
    expect(fs.readdirSync(path.join(dir, 'locks'))).toEqual([]);
  });

  it('refuses a folder that is not empty and not a store, and a store of another format', () => {
    const dir = hostTree({ 'notes.txt': 'mine' });
    expect(errorOf(() => Engine.open(dir)).message).toMatch(/is not a layerfs store .* choose a new or empty directory/);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    const other = tempDir();
    fs.writeFileSync(path.join(other, 'layerfs.json'), '{"format":99}');
    expect(errorOf(() => Engine.open(other)).message).toMatch(/format 99/);
  });

  it('keeps images, containers and their changes across reopening', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    edit(engine, 'web', (c) => {
      writeText(c, '/etc/hosts', 'changed');
      c.unlink('/usr/bin/tool');
      c.mkdir('/srv');
    });
    const again = Engine.open(dir);
    expect(again.images().map((image) => image.name)).toEqual(['base']);
    expect(again.containers().map((container) => container.name)).toEqual(['web']);
    const web = again.openContainer('web');
    expect(text(web, '/etc/hosts')).toBe('changed');
    expect(web.exists('/usr/bin/tool')).toBe(false);
    expect(web.exists('/srv')).toBe(true);
    expect(again.diff('web').map((change) => `${change.kind} ${change.path}`)).toEqual(['changed /etc/hosts', 'added /srv', 'changed /usr/bin', 'deleted /usr/bin/tool']);
  });

  it('validates names, refuses duplicates, and replaces an image only when forced', () => {
    const { engine } = storeWithBase();
    for (const bad of ['', '.hidden', '-x', '../escape', 'a/b', 'a b', 'x'.repeat(200)]) {
      expect(errorOf(() => engine.create('base', bad)).code).toBe('EINVAL');
      expect(errorOf(() => engine.openContainer(bad)).code).toBe('EINVAL');
    }
    engine.create('base', 'web');
    expect(errorOf(() => engine.create('base', 'web')).message).toBe('container web exists; choose another name or remove it first (layerfs rm web)');
    expect(errorOf(() => engine.create('nope', 'db')).message).toMatch(/no image named "nope" \(`layerfs images` lists them\)/);
    const tree = hostTree({ f: 'other' });
    expect(errorOf(() => engine.importDirectory(tree, 'base')).code).toBe('EEXIST');
    const replaced = engine.importDirectory(tree, 'base', { force: true });
    expect(engine.imageRecord('base').layers).toEqual(replaced.layers);
    // The container keeps the layers it was created with.
    expect(engine.openContainer('web').exists('/etc/hosts')).toBe(true);
  });

  it('writes records atomically and removes temporaries of dead writers on open', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    for (let i = 0; i < 5; i++) edit(engine, 'web', (c) => writeText(c, '/n', String(i)));
    expect(fs.readdirSync(path.join(dir, 'containers'))).toEqual(['web.json']);
    const leftover = path.join(dir, 'containers', `.${deadPid()}-0-7.tmp`);
    fs.writeFileSync(leftover, '{"half": ');
    expect(Engine.open(dir).containers().map((c) => c.name)).toEqual(['web']);
    expect(fs.existsSync(leftover)).toBe(false);
  });

  it('saves only when something changed; fork shares the saved upper and then diverges', () => {
    const { engine } = storeWithBase();
    engine.create('base', 'web');
    const web = engine.openContainer('web');
    writeText(web, '/a', 'one');
    expect(engine.saveContainer('web', web)).toBe(true);
    expect(engine.saveContainer('web', web)).toBe(false);
    const fork = engine.fork('web', 'web2');
    expect(fork.upper).toBe(engine.container('web').upper);
    edit(engine, 'web2', (c) => writeText(c, '/a', 'two'));
    expect(text(engine.openContainer('web'), '/a')).toBe('one');
    expect(text(engine.openContainer('web2'), '/a')).toBe('two');
  });

  it('a container whose upper layer holds nothing stays recorded as unchanged (ps: CHANGED no)', () => {
    const { engine } = storeWithBase();
    engine.create('base', 'web');
    const web = engine.openContainer('web');
    web.stat(web.resolve('/etc/hosts')); // reads change nothing
    expect(engine.saveContainer('web', web)).toBe(false);
    expect(engine.container('web').upper).toBeNull();
    writeText(web, '/a', 'one');
    expect(engine.saveContainer('web', web)).toBe(true);
    expect(engine.container('web').upper).not.toBeNull();
  });

  it('commit makes an image whose containers show the committed tree', () => {
    const { engine } = storeWithBase();
    engine.create('base', 'web');
    edit(engine, 'web', (c) => {
      writeText(c, '/etc/motd', 'hi');
      c.unlink('/etc/hosts');
    });
    const image = engine.commit('web', 'web-v1');
    expect(image.layers).toHaveLength(2);
    expect(image.layers[0]).toBe(engine.imageRecord('base').layers[0]);
    engine.create('web-v1', 'copy');
    const copy = engine.openContainer('copy');
    expect(text(copy, '/etc/motd')).toBe('hi');
    expect(copy.exists('/etc/hosts')).toBe(false);
    expect(engine.diff('copy')).toEqual([]);
  });

  it('rmi is refused while containers use the image, naming them; rm then rmi work', () => {
    const { engine } = storeWithBase();
    engine.create('base', 'web');
    engine.create('base', 'db');
    expect(errorOf(() => engine.rmi('base')).message).toBe('image base is used by containers db, web; remove them first (layerfs rm db web)');
    engine.rm('web');
    engine.rm('db');
    engine.rmi('base');
    expect(engine.images()).toEqual([]);
    expect(errorOf(() => engine.rm('web')).code).toBe('ENOENT');
  });
});

describe('Engine locks', () => {
  it('a second holder is refused with a message naming the pid; release frees the lock', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const held = engine.lock('web', { what: 'mounted' });
    expect(errorOf(() => Engine.open(dir).lock('web')).message).toBe(`container web is mounted by pid ${process.pid}`);
    expect(engine.container('web').lockedBy).toMatchObject({ pid: process.pid, what: 'mounted' });
    expect(errorOf(() => engine.rm('web')).code).toBe('EBUSY');
    held.release();
    expect(engine.container('web').lockedBy).toBeUndefined();
    engine.lock('web').release();
  });

  it('names the mount point and says how to unmount', () => {
    const { engine } = storeWithBase();
    engine.create('base', 'web');
    engine.lock('web', { what: 'mounted', mountpoint: '/mnt/web' });
    expect(errorOf(() => engine.lock('web')).message).toBe(`container web is mounted at /mnt/web by pid ${process.pid}; unmount it first (layerfs umount /mnt/web)`);
  });

  it('takes over a lock whose holder died, one whose pid was reused, and one that is garbage', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const file = path.join(dir, 'locks', 'container-web.lock');
    const stale = [
      { pid: deadPid(), what: 'mounted', since: '' },
      // Our own pid, but started at another time: a reused pid, not the holder.
      { pid: process.pid, start: '1', what: 'mounted', since: '' },
    ];
    for (const holder of stale) {
      fs.writeFileSync(file, JSON.stringify(holder));
      expect(engine.container('web').lockedBy).toBeUndefined();
      engine.lock('web').release();
    }
    fs.writeFileSync(file, 'garbage');
    engine.lock('web').release();
    expect(fs.readdirSync(path.join(dir, 'locks'))).toEqual([]);
  });

  it('a lock held by another process refuses us until that process dies', async () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const child = spawnChild('hold-lock.ts', [dir, 'web']);
    try {
      await until(() => child.lines.includes('locked'), 'the child to lock');
      expect(errorOf(() => engine.lock('web')).message).toBe(`container web is mounted by pid ${child.pid}`);
      expect(errorOf(() => engine.gc()).message).toMatch(new RegExp(`in use by pid ${child.pid} \\(mounted\\)`));
    } finally {
      child.kill('SIGKILL');
    }
    await child.exited;
    engine.lock('web').release();
  });

  it('saving is refused while another process holds the container\'s lock, and the saved upper stays', async () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    edit(engine, 'web', (c) => writeText(c, '/a', 'saved'));
    const before = engine.container('web').upper;
    const child = spawnChild('hold-lock.ts', [dir, 'web']);
    const web = engine.openContainer('web');
    writeText(web, '/a', 'would overwrite the mount');
    try {
      await until(() => child.lines.includes('locked'), 'the child to lock');
      const refused = errorOf(() => engine.saveContainer('web', web));
      expect(refused.code).toBe('EBUSY');
      expect(refused.message).toBe(`cannot save container web from pid ${process.pid}: it is mounted by pid ${child.pid}, whose changes the save would overwrite; save through that process, or stop it first`);
      expect(engine.container('web').upper).toBe(before);
      expect(text(Engine.open(dir).openContainer('web'), '/a')).toBe('saved');
    } finally {
      child.kill('SIGKILL');
    }
    await child.exited;
    // Its holder dead, the lock is taken for the save and let go after.
    expect(engine.saveContainer('web', web)).toBe(true);
    expect(text(engine.openContainer('web'), '/a')).toBe('would overwrite the mount');
    expect(fs.readdirSync(path.join(dir, 'locks'))).toEqual([]);
  });

  it('saving works while this process holds the container\'s lock (a mount saves this way), and keeps it held', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const held = engine.lock('web', { what: 'mounted', mountpoint: '/mnt/web' });
    const web = engine.openContainer('web');
    writeText(web, '/a', 'from the mount');
    expect(engine.saveContainer('web', web)).toBe(true);
    expect(engine.container('web').lockedBy).toMatchObject({ pid: process.pid, what: 'mounted', mountpoint: '/mnt/web' });
    expect(text(Engine.open(dir).openContainer('web'), '/a')).toBe('from the mount');
    held.release();
    expect(engine.container('web').lockedBy).toBeUndefined();
  });

  it('of several processes racing to take over a stale lock, exactly one wins, round after round', async () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const locks = path.join(dir, 'locks');
    const file = path.join(locks, 'container-web.lock');
    const go = path.join(dir, 'go');
    const rounds = 15;
    const dead = deadPid();
    const racers = Array.from({ length: 6 }, () => spawnChild('race-lock.ts', [file, go, String(rounds)]));
    try {
      await until(() => racers.every((child) => child.lines.includes('ready')), 'the racers to start');
      for (let round = 1; round <= rounds; round++) {
        // The last winner is alive and never lets go: a dead holder written over its lock makes it stale.
        fs.writeFileSync(file, JSON.stringify({ pid: dead, what: 'mounted', since: `round ${round}` }));
        fs.writeFileSync(`${go}-${round}`, '');
        const said = (child: (typeof racers)[number]) => child.lines.find((line) => line.startsWith(`${round} `));
        await until(() => racers.every(said), `round ${round}`);
        const winners = racers.filter((child) => said(child) === `${round} won`);
        expect(winners, `round ${round}`).toHaveLength(1);
        expect(engine.container('web').lockedBy?.pid).toBe(winners[0]!.pid);
        expect(fs.readdirSync(locks)).toEqual(['container-web.lock']);
      }
    } finally {
      for (const child of racers) child.kill('SIGKILL');
    }
    await Promise.all(racers.map((child) => child.exited));
  });

  it('a writer gives up on a store lock that stays held, saying by whom', () => {
    const { dir } = storeWithBase();
    const engine = Engine.open(dir, { lockWaitMs: 50 });
    fs.writeFileSync(path.join(dir, 'locks', 'store.lock'), JSON.stringify({ pid: process.pid, what: 'saving container x', since: '' }));
    expect(errorOf(() => engine.create('base', 'web')).message).toMatch(new RegExp(`locked by pid ${process.pid} \\(saving container x\\)`));
  });
});

describe('Engine gc, verify and df', () => {
  /** What must survive gc, computed from the records without the engine's own code. */
  function expectedLive(engine: Engine): Set<Digest> {
    const live = new Set<Digest>();
    const layers = [...engine.images().flatMap((image) => image.layers), ...engine.containers().flatMap((container) => container.layers)];
    for (const id of layers) for (const digest of Layer.load(engine.store, id).digests()) live.add(digest);
    for (const { upper } of engine.containers()) {
      if (upper === null) continue;
      live.add(upper);
      for (const digest of upperDigests(engine.store.get(upper))) live.add(digest);
    }
    return live;
  }

  it('gc deletes exactly the blobs nothing references', () => {
    const { engine } = storeWithBase({ 'big.bin': seededBytes(300_000, 1), 'etc/hosts': 'h' });
    engine.create('base', 'a');
    edit(engine, 'a', (c) => c.write(c.resolve('/big.bin'), 70_000, new Uint8Array(100).fill(7)));
    edit(engine, 'a', (c) => writeText(c, '/etc/hosts', 'second save')); // the first upper is garbage now
    engine.fork('a', 'b');
    edit(engine, 'b', (c) => c.write(c.resolve('/big.bin'), 200_000, seededBytes(70_000, 2)));
    engine.commit('b', 'b-image');
    engine.create('b-image', 'c');
    engine.create('base', 'd');
    edit(engine, 'd', (c) => writeText(c, '/gone', 'soon garbage'));
    engine.rm('d');
    const garbage = engine.store.put(seededBytes(5000, 3));
    const before = new Map(['a', 'b', 'c'].map((name) => [name, Buffer.from(engine.openContainer(name).readAll(engine.openContainer(name).resolve('/big.bin')))]));

    const live = expectedLive(engine);
    const all = new Set(engine.store.digests());
    const dead = [...all].filter((digest) => !live.has(digest));
    expect(dead).toContain(garbage);
    expect(dead.length).toBeGreaterThanOrEqual(3);
    const result = engine.gc();
    expect(result.deleted).toBe(dead.length);
    expect(new Set(engine.store.digests())).toEqual(new Set([...live].filter((digest) => all.has(digest))));
    expect(engine.gc().deleted).toBe(0);
    const reopened = Engine.open(engine.dir);
    for (const [name, bytes] of before) {
      const c = reopened.openContainer(name);
      expect(Buffer.from(c.readAll(c.resolve('/big.bin')))).toEqual(bytes);
    }
    expect(reopened.verify().ok).toBe(true);
  });

  it('gc refuses while a record is damaged, and while an import or mount holds a lock', () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    const lock = engine.lock('web', { what: 'mounted', mountpoint: '/mnt/web' });
    expect(errorOf(() => engine.gc()).message).toMatch(/in use by pid \d+ \(mounted at \/mnt\/web\)/);
    lock.release();
    fs.writeFileSync(path.join(dir, 'containers', 'broken.json'), '{"image": ');
    const error = errorOf(() => engine.gc());
    expect(error.code).toBe('EIO');
    expect(error.message).toMatch(/nothing is deleted .*broken\.json is not valid JSON.*layerfs verify/);
  });

  it('verify finds a corrupt chunk and a missing blob and names what they break', () => {
    const { engine } = storeWithBase({ 'etc/hosts': 'hosts file', 'usr/lib/libc.so': seededBytes(100_000, 4) });
    engine.create('base', 'web');
    edit(engine, 'web', (c) => writeText(c, '/mine', 'container data'));
    engine.importDirectory(hostTree({ other: 'x' }), 'other');
    expect(engine.verify()).toMatchObject({ ok: true, problems: [], brokenImages: [], brokenContainers: [] });

    const base = Layer.load(engine.store, engine.imageRecord('base').layers[0]!);
    const chunk = base.inode(base.lookup('/usr/lib/libc.so')!);
    if (chunk.kind !== 'file') throw new Error('expected a file');
    const corrupt = chunk.content.chunks[0]!;
    corruptChunk(engine.store, corrupt);
    const upper = engine.container('web').upper!;
    const missing = [...upperDigests(engine.store.get(upper))][0]!;
    loseChunk(engine.store, missing);

    const report = engine.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      [
        { digest: corrupt, fault: 'corrupt', images: ['base'], containers: [] },
        { digest: missing, fault: 'missing', images: [], containers: ['web'] },
      ].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    );
    expect(report.brokenImages).toEqual(['base']);
    expect(report.brokenContainers).toEqual(['web']);
  });

  it('df counts logical, stored, shared and unique bytes per image and container', () => {
    const shared = seededBytes(100 * 1024, 5); // two chunks, in both images
    const { engine } = storeWithBase({ 'shared.bin': shared, 'a.txt': 'only in base' });
    engine.importDirectory(hostTree({ 'shared.bin': shared, 'b.txt': 'only in other!' }), 'other');
    engine.create('base', 'web');
    edit(engine, 'web', (c) => writeText(c, '/new.txt', '0123456789'));
    const usage = engine.df();
    const base = usage.images.find((image) => image.name === 'base')!;
    const other = usage.images.find((image) => image.name === 'other')!;
    expect(base.logicalBytes).toBe(shared.length + 'only in base'.length);
    expect(base.sharedBytes).toBe(shared.length);
    expect(other.sharedBytes).toBe(shared.length);
    expect(base.uniqueBytes).toBe(base.storedBytes - shared.length);
    expect(base.containers).toBe(1);
    const baseLayer = engine.imageRecord('base').layers[0]!;
    expect(base.storedBytes).toBe(engine.store.size(baseLayer) + shared.length + 'only in base'.length);
    const web = usage.containers[0]!;
    const upper = engine.container('web').upper!;
    expect(web).toMatchObject({ name: 'web', image: 'base', logicalBytes: 10, sharedBytes: 0, storedBytes: engine.store.size(upper) + 10 });
    expect(usage.store.reclaimableBytes).toBe(0);
    expect(usage.store.bytes).toBe(base.storedBytes + other.storedBytes - shared.length + web.storedBytes);
    engine.rm('web');
    expect(engine.df().store.reclaimableBytes).toBe(web.uniqueBytes);
  });
});

describe('Engine after SIGKILL', () => {
  it('a writer killed at any moment of saveContainer leaves the old or the new state', async () => {
    const { dir, engine } = storeWithBase();
    engine.create('base', 'web');
    for (const delay of [0, 3, 11]) {
      const child = spawnChild('save-loop.ts', [dir, 'web']);
      await until(() => child.lines.length >= 4, 'four saves');
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      const saved = child.lines.filter((line) => line.startsWith('saved ')).length;

      const reopened = Engine.open(dir);
      const report = reopened.verify();
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      const web = reopened.openContainer('web');
      // The child loads the last saved state: its counter restarts at 1 each run.
      expect([String(saved), String(saved + 1)]).toContain(text(web, '/counter'));
      // The dead child may have held the store lock: it is taken over.
      writeText(web, '/after', 'ok');
      expect(reopened.saveContainer('web', web)).toBe(true);
    }
    expect(Engine.open(dir).gc().deleted).toBeGreaterThan(0);
    expect(Engine.open(dir).verify().ok).toBe(true);
  });
});
