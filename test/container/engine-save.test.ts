import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Container, Engine } from '../../src/index.js';

describe('saving a container', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A store with image `base` (one file, /a) and an empty container `c`. */
  function store() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-save-'));
    dirs.push(dir);
    const source = path.join(dir, 'src');
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, 'a'), 'a');
    const engine = Engine.open(path.join(dir, 'store'), { durable: false });
    engine.importDirectory(source, 'base');
    engine.create('base', 'c');
    return engine;
  }

  it('retries a save that failed, rather than taking it as done', () => {
    const engine = store();
    const container = engine.openContainer('c');
    container.write(container.createFile('/new'), 0, Buffer.from('n'));
    const sync = engine.store.sync.bind(engine.store);
    engine.store.sync = () => {
      throw new Error('EIO: the disk said no');
    };
    expect(() => engine.saveContainer('c', container)).toThrow(/disk said no/);
    engine.store.sync = sync;
    expect(engine.saveContainer('c', container)).toBe(true);
    expect(engine.openContainer('c').exists('/new')).toBe(true);
  });

  it('drops a file deleted while open once it is closed, also from the saved upper layer', () => {
    const engine = store();
    const container = engine.openContainer('c');
    const ino = container.createFile('/tmpfile');
    container.write(ino, 0, Buffer.alloc(100_000, 1));
    container.open(ino);
    container.unlink('/tmpfile');
    engine.saveContainer('c', container);
    container.close(ino);
    engine.saveContainer('c', container);
    expect(container.upperSize).toBe(engine.openContainer('c').upperSize);
    // And an upper saved while the file was open loads without the orphan.
    const orphaned = engine.openContainer('c');
    const again = orphaned.createFile('/t2');
    orphaned.open(again);
    orphaned.unlink('/t2');
    expect(Container.load(orphaned.image, engine.store, orphaned.saveUpper()).upperSize).toBe(orphaned.upperSize - 1);
  });

  it('does not encode an unchanged container again, and saves again after any change', () => {
    const engine = store();
    const container = engine.openContainer('c');
    container.write(container.createFile('/b'), 0, Buffer.from('b'));
    expect(engine.saveContainer('c', container)).toBe(true);
    let encoded = 0;
    const saveUpper = container.saveUpper.bind(container);
    container.saveUpper = () => (encoded++, saveUpper());
    expect(engine.saveContainer('c', container)).toBe(false);
    expect(encoded).toBe(0);
    container.chmod(container.resolve('/a'), 0o600);
    expect(engine.saveContainer('c', container)).toBe(true);
    expect(encoded).toBe(1);
    expect(engine.openContainer('c').stat(engine.openContainer('c').resolve('/a')).mode & 0o777).toBe(0o600);
  });
});
