import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/index.js';
import { ErrnoError } from '../../src/errno.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { tree, writeText } from './helpers.js';

/** A store with image `base` (a few files, one of 1 MiB) and a container `web` opened from it. */
function setup() {
  const source = tempDir('layerfs-journal-src-');
  fs.mkdirSync(path.join(source, 'etc'));
  fs.writeFileSync(path.join(source, 'etc/hosts'), '127.0.0.1 localhost\n');
  fs.writeFileSync(path.join(source, 'big'), seededBytes(1024 * 1024, 7));
  const dir = path.join(tempDir('layerfs-journal-'), 'store');
  const engine = Engine.open(dir, { lockWaitMs: 2000 });
  engine.importDirectory(source, 'base');
  engine.create('base', 'web');
  return { dir, engine, web: engine.openContainer('web') };
}

const journalOf = (engine: Engine, dir: string) => path.join(dir, 'containers', engine.container('web').journal!);

describe('incremental saves (the journal)', () => {
  it('appends each save to a journal; a reopened container has every change, and a whole save folds it in', () => {
    const { dir, engine, web } = setup();
    const states: Record<string, string>[] = [];
    const steps = [
      () => writeText(web, '/etc/motd', 'hello\n'),
      () => web.chmod(web.resolve('/etc/hosts'), 0o600),
      () => web.write(web.resolve('/big'), 4096, Buffer.from('a small write into a large lower file')),
      () => web.rename('/etc/motd', '/motd'),
      () => (web.mkdir('/var'), web.link('/motd', '/var/motd')),
      () => web.unlink('/etc/hosts'),
    ];
    for (const step of steps) {
      step();
      expect(engine.saveContainer('web', web, { incremental: true })).toBe(true);
      states.push(tree(web));
      expect(tree(engine.openContainer('web'))).toEqual(tree(web));
    }
    expect(engine.saveContainer('web', web, { incremental: true })).toBe(false);
    const record = engine.container('web');
    expect(record.upper).toBeNull(); // never saved whole: the journal holds it all
    const journal = journalOf(engine, dir);
    // The small write into the large file carried a few KiB, never the file.
    expect(fs.statSync(journal).size).toBeLessThan(80 * 1024);

    expect(engine.saveContainer('web', web)).toBe(true);
    expect(engine.container('web').journal).toBeUndefined();
    expect(fs.existsSync(journal)).toBe(false);
    expect(tree(engine.openContainer('web'))).toEqual(states.at(-1));
  });

  it('a record torn by a crash at any byte leaves the state of the save before it', () => {
    const { dir, engine, web } = setup();
    writeText(web, '/one', 'first');
    engine.saveContainer('web', web, { incremental: true });
    const before = tree(web);
    const journal = journalOf(engine, dir);
    const length = fs.statSync(journal).size;
    writeText(web, '/two', 'second');
    web.chmod(web.resolve('/one'), 0o700);
    engine.saveContainer('web', web, { incremental: true });
    const after = tree(web);
    const whole = fs.readFileSync(journal);
    for (let cut = length; cut < whole.length; cut++) {
      fs.writeFileSync(journal, whole.subarray(0, cut));
      expect(tree(engine.openContainer('web'))).toEqual(before);
    }
    // The process that appends writes its next record over the torn one.
    fs.writeFileSync(journal, whole.subarray(0, length + 5));
    const reopened = engine.openContainer('web');
    writeText(reopened, '/three', 'third');
    engine.saveContainer('web', reopened, { incremental: true });
    expect(tree(engine.openContainer('web'))).toEqual({ ...before, '/three': 'file 666 third' });
    expect(after).not.toEqual(before);
  });

  it('carries the chunks it needs: a blob file lost or torn by a crash is put back on open', () => {
    const { dir, engine, web } = setup();
    const blobFiles = () => fs.readdirSync(path.join(dir, 'blobs'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
    const before = new Set(blobFiles());
    const data = seededBytes(200 * 1024, 3);
    web.write(web.createFile('/data'), 0, data);
    engine.saveContainer('web', web, { incremental: true });
    // The chunks of /data, written without an fsync of their own: lost or torn.
    const damaged = blobFiles().filter((file) => !before.has(file));
    expect(damaged.length).toBe(4);
    for (const [index, file] of damaged.entries()) {
      if (index % 2 === 0) fs.rmSync(file);
      else fs.truncateSync(file, 10);
    }
    const restarted = Engine.open(dir); // a new process: nothing of the blobs in memory
    const reopened = restarted.openContainer('web');
    expect(Buffer.from(reopened.readAll(reopened.resolve('/data'))).equals(Buffer.from(data))).toBe(true);
    expect(restarted.verify().ok).toBe(true);
  });

  it('a fork gets the journal folded in and does not see the source\'s later saves; gc keeps what journals reference', () => {
    const { engine, web } = setup();
    writeText(web, '/a', 'one');
    engine.saveContainer('web', web, { incremental: true });
    engine.fork('web', 'copy');
    expect(engine.container('copy').journal).toBeUndefined();
    writeText(web, '/a', 'two');
    engine.saveContainer('web', web, { incremental: true });
    expect(tree(engine.openContainer('copy'))['/a']).toBe('file 666 one');
    expect(tree(engine.openContainer('web'))['/a']).toBe('file 666 two');

    engine.gc();
    expect(engine.verify().ok).toBe(true);
    expect(tree(engine.openContainer('web'))['/a']).toBe('file 666 two');
    engine.rm('web');
    expect(fs.readdirSync(path.join(engine.dir, 'containers')).filter((name) => name.endsWith('.journal'))).toEqual([]);
  });

  it('a save in a directory of many new files writes its changed names alone; the reopened container has them all', () => {
    const { dir, engine, web } = setup();
    web.mkdir('/many');
    for (let i = 0; i < 2000; i++) writeText(web, `/many/f${i}`, `${i}`);
    engine.saveContainer('web', web, { incremental: true });
    const journal = journalOf(engine, dir);
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      writeText(web, `/many/new${i}`, 'x');
      if (i === 5) web.unlink(`/many/f${i}`);
      if (i === 6) web.rename('/many/f6', '/many/renamed');
      if (i === 7) web.unlink('/etc/hosts'); // a whiteout in a copied-up directory
      const before = fs.statSync(journal).size;
      engine.saveContainer('web', web, { incremental: true });
      sizes.push(fs.statSync(journal).size - before);
    }
    // 2,000 names would take some 20 KiB a record.
    expect(Math.max(...sizes)).toBeLessThan(1024);
    expect(tree(engine.openContainer('web'))).toEqual(tree(web));
  });

  it('replays to the same tree under random changes and saves', () => {
    const ops = fc.oneof(
      fc.record({ op: fc.constant('write' as const), dir: fc.constantFrom('/etc', '/a', '/a/b'), name: fc.constantFrom('x', 'y', 'z'), data: fc.string({ maxLength: 8 }) }),
      fc.record({ op: fc.constant('unlink' as const), dir: fc.constantFrom('/etc', '/a', '/a/b'), name: fc.constantFrom('x', 'y', 'hosts') }),
      fc.record({ op: fc.constantFrom('rename' as const, 'link' as const), dir: fc.constantFrom('/etc', '/a', '/a/b'), name: fc.constantFrom('x', 'y', 'hosts'), to: fc.constantFrom('/etc/z', '/a/y', '/a/b/x') }),
      fc.record({ op: fc.constantFrom('mkdir' as const, 'rmdir' as const), dir: fc.constantFrom('/a', '/a/b') }),
      fc.record({ op: fc.constantFrom('save' as const, 'whole' as const) }),
    );
    fc.assert(
      fc.property(fc.array(ops, { maxLength: 40 }), (steps) => {
        const { engine, web } = setup();
        for (const step of steps) {
          try {
            if (step.op === 'write') writeText(web, `${step.dir}/${step.name}`, step.data);
            else if (step.op === 'unlink') web.unlink(`${step.dir}/${step.name}`);
            else if (step.op === 'rename') web.rename(`${step.dir}/${step.name}`, step.to);
            else if (step.op === 'link') web.link(`${step.dir}/${step.name}`, step.to);
            else if (step.op === 'mkdir') web.mkdir(step.dir);
            else if (step.op === 'rmdir') web.rmdir(step.dir);
            else engine.saveContainer('web', web, { incremental: step.op === 'save' });
          } catch (error) {
            if (!(error instanceof ErrnoError)) throw error;
          }
        }
        engine.saveContainer('web', web, { incremental: true });
        expect(tree(engine.openContainer('web'))).toEqual(tree(web));
      }),
      { numRuns: 60 },
    );
  });
});
