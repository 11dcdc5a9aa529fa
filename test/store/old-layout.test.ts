import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Container, Engine, createFs } from '../../src/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';

const KiB = 1024;
/** A store written by layerfs before whole-file objects (fixtures/store-v1/make.ts says how). */
const fixture = fileURLToPath(new URL('../../fixtures/store-v1/store', import.meta.url));

function openCopy(): Engine {
  const dir = path.join(tempDir('layerfs-v1-'), 'store');
  fs.cpSync(fixture, dir, { recursive: true });
  return Engine.open(dir);
}

const original = seededBytes(14 * KiB, 1);
const edited = Buffer.from(original);
edited.set(seededBytes(KiB, 3), 5 * KiB);
const sparse = seededBytes(12 * KiB, 2);
sparse.fill(0, 4 * KiB, 8 * KiB);

describe('a store in the layout of before whole-file objects', () => {
  it('verifies, and reads its image and container as they were written', () => {
    const engine = openCopy();
    const report = engine.verify();
    expect(report).toMatchObject({ ok: true, problems: [], damagedRecords: [] });
    expect(report.blobs).toBe(12);

    const web = createFs(engine.openContainer('web'));
    expect(web.readFileSync('/etc/motd', 'utf8')).toBe('hello from v1\n');
    expectBytes(web.readFileSync('/usr/lib/libbig.so'), edited);
    expectBytes(web.readFileSync('/usr/share/sparse.db'), sparse);
    expect(web.existsSync('/usr/share/doomed.txt')).toBe(false);
    expect(web.readlinkSync('/usr/share/link')).toBe('../lib/libbig.so');
    expect(engine.diff('web').map((change) => `${change.kind} ${change.path}`).sort()).toEqual(['added /etc/motd', 'changed /etc', 'changed /usr/lib/libbig.so', 'changed /usr/share', 'deleted /usr/share/doomed.txt'].sort());

    const base = createFs(Container.view(engine.image('base'), engine.store));
    expectBytes(base.readFileSync('/usr/lib/libbig.so'), original);
    expect(base.readFileSync('/usr/share/doomed.txt', 'utf8')).toBe('deleted by the container\n');
  });

  it('gives its one-chunk files to the kernel as they lie; its chunked files are read chunk by chunk', () => {
    const engine = openCopy();
    const view = Container.view(engine.image('base'), engine.store);
    const contentOf = (file: string) => view.storedContent(view.resolve(file))!;
    expect(fs.readFileSync(engine.store.backingFile(contentOf('/etc/hosts'))!, 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(engine.store.backingFile(contentOf('/usr/lib/libbig.so'))).toBeUndefined();
  });

  it('takes new imports and changes beside the old blobs, saves, collects garbage and verifies', () => {
    const engine = openCopy();
    const source = tempDir('layerfs-v1-src-');
    fs.writeFileSync(path.join(source, 'big.bin'), seededBytes(300 * KiB, 4));
    engine.importDirectory(source, 'new');
    const web = engine.openContainer('web');
    const fsWeb = createFs(web);
    fsWeb.writeFileSync('/etc/motd', 'changed by today\n');
    engine.saveContainer('web', web);

    engine.rmi('new');
    const gc = engine.gc();
    expect(gc.deleted).toBeGreaterThan(0);
    const objects = path.join(engine.dir, 'objects');
    expect(fs.readdirSync(objects, { recursive: true, encoding: 'utf8' }).filter((name) => fs.statSync(path.join(objects, name)).isFile())).toEqual(['index']);
    expect(engine.verify()).toMatchObject({ ok: true, problems: [] });
    const again = createFs(Engine.open(engine.dir).openContainer('web'));
    expect(again.readFileSync('/etc/motd', 'utf8')).toBe('changed by today\n');
    expectBytes(again.readFileSync('/usr/lib/libbig.so'), edited);
  });
});
