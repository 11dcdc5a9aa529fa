import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/index.js';

describe('saving a container', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('does not encode an unchanged container again, and saves again after any change', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-save-'));
    dirs.push(dir);
    const source = path.join(dir, 'src');
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, 'a'), 'a');
    const engine = Engine.open(path.join(dir, 'store'), { durable: false });
    engine.importDirectory(source, 'base');
    engine.create('base', 'c');
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
