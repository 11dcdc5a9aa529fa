import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ociArchive, packTar } from '../../src/image/index.js';
import { Engine, Layer, MemoryBlobStore, layerFromSpec } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { corruptChunk } from '../helpers/store-faults.js';
import { tempDir } from '../helpers/tmp.js';
import { hostTree, storeCli } from './helpers.js';

/** Edits a container the way a library user would, then saves it. */
function editThroughEngine(store: string, name: string): void {
  const engine = Engine.open(store);
  const c = engine.openContainer(name);
  const ino = c.createFile('/etc/motd');
  c.write(ino, 0, Buffer.from('welcome\n'));
  c.unlink('/usr/bin/tool');
  engine.saveContainer(name, c);
}

describe('layerfs from import to gc', () => {
  it('imports, lists, creates, diffs, commits, forks, removes and collects garbage', async () => {
    const { store, run } = storeCli();
    const source = hostTree({ 'etc/hosts': '127.0.0.1 localhost\n', 'usr/bin/tool': '#!/bin/sh\n', 'big.bin': seededBytes(200_000, 1) });

    const imported = await run('import', source, '--tag', 'base');
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/^imported base: 7 entries, 195 KiB of file data \(layer [0-9a-f]{12}\)\n$/);

    const images = JSON.parse((await run('images', '--json')).stdout);
    expect(images).toEqual([{ name: 'base', layers: [expect.stringMatching(/^xxh64:/)], created: expect.any(String), containers: 0 }]);
    expect((await run('images')).stdout).toMatch(/^NAME +TOP LAYER +LAYERS +CONTAINERS +CREATED\nbase +[0-9a-f]{12} +1 +0 +(just now|\d+ seconds ago)\n$/);

    expect((await run('create', 'base', '--name', 'web')).stdout).toBe('created web from base\n');
    const ps = JSON.parse((await run('ps', '--json')).stdout);
    expect(ps).toEqual([{ name: 'web', image: 'base', layers: images[0].layers, upper: null, created: expect.any(String) }]);

    editThroughEngine(store, 'web');
    const diff = await run('diff', 'web');
    expect(diff.stdout).toBe('C /etc\nA /etc/motd\nC /usr/bin\nD /usr/bin/tool\n');
    expect(JSON.parse((await run('diff', 'web', '--json')).stdout)).toEqual([
      { kind: 'changed', path: '/etc' },
      { kind: 'added', path: '/etc/motd' },
      { kind: 'changed', path: '/usr/bin' },
      { kind: 'deleted', path: '/usr/bin/tool' },
    ]);

    expect((await run('commit', 'web', '--tag', 'web-v1')).stdout).toMatch(/^committed web as web-v1 \(2 layers, top [0-9a-f]{12}\)\n$/);
    expect((await run('fork', 'web', '--name', 'web2')).stdout).toBe('forked web as web2\n');
    const forked = Engine.open(store).openContainer('web2');
    expect(Buffer.from(forked.readAll(forked.resolve('/etc/motd'))).toString()).toBe('welcome\n');

    const refused = await run('rmi', 'base');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe('layerfs: image base is used by containers web, web2; remove them first (layerfs rm web web2)\n');

    const df = JSON.parse((await run('df', '--json')).stdout);
    expect(df.images.map((image: { name: string }) => image.name)).toEqual(['base', 'web-v1']);
    const base = df.images[0];
    expect(base.logicalBytes).toBe(200_000 + '127.0.0.1 localhost\n'.length + '#!/bin/sh\n'.length);
    // web-v1 stands on base's layer: everything base stores is shared with it.
    expect(base.sharedBytes).toBe(base.storedBytes);
    expect(df.containers).toHaveLength(2);
    expect(df.store.reclaimableBytes).toBe(0);
    expect((await run('df')).stdout).toMatch(/^Images:\nNAME +SIZE +STORED +SHARED +UNIQUE +CONTAINERS\nbase +195 KiB/);

    expect((await run('rm', 'web', 'web2')).stdout).toBe('removed web\nremoved web2\n');
    expect((await run('rmi', 'base')).stdout).toBe('removed image base\n');
    const gc = JSON.parse((await run('gc', '--json')).stdout);
    expect(gc.deleted).toBeGreaterThan(0);
    // web-v1 keeps base's layer alive: the 200 KB file is still there.
    const engine = Engine.open(store);
    const v1 = engine.image('web-v1');
    expect(v1.layers).toHaveLength(2);
    const verify = await run('verify');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^ok: \d+ blobs, .*, all intact\n$/);
    expect((await run('gc')).stdout).toMatch(/^deleted 0 blobs, freed 0 B; \d+ blobs kept\n$/);
  });

  it('verify exits 1 and names the image a corrupt blob breaks', async () => {
    const { store, run } = storeCli();
    await run('import', hostTree({ 'lib/libc.so': seededBytes(70_000, 2) }), '--tag', 'base');
    await run('create', 'base', '--name', 'web');
    const engine = Engine.open(store);
    const layer = Layer.load(engine.store, engine.imageRecord('base').layers[0]!);
    const file = layer.inode(layer.lookup('/lib/libc.so')!);
    if (file.kind !== 'file') throw new Error('expected a file');
    const chunk = file.content.chunks[1]!;
    corruptChunk(engine.store, chunk);

    const result = await run('verify');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(`corrupt ${chunk}: used by image base\nbroken images: base\nbroken containers: web\n`);
    expect(result.stderr).toMatch(/the store has 1 problem; restore it from a backup, or remove what is broken/);
    const json = JSON.parse((await run('verify', '--json')).stdout);
    expect(json).toMatchObject({ ok: false, brokenImages: ['base'], brokenContainers: ['web'], problems: [{ digest: chunk, fault: 'corrupt' }] });
    const gc = await run('gc');
    expect(gc.status).toBe(0);
  });

  it('imports a tar archive, plain or gzipped, and refuses a taken tag unless forced', async () => {
    const { run } = storeCli();
    const dir = tempDir();
    const tar = packTar([
      { path: 'etc/', type: 'dir', mode: 0o755 },
      { path: 'etc/hosts', type: 'file', mode: 0o644, data: Buffer.from('from tar\n') },
      { path: 'etc/link', type: 'symlink', linkpath: 'hosts' },
    ]);
    fs.writeFileSync(path.join(dir, 'root.tar'), tar);
    fs.writeFileSync(path.join(dir, 'root.tar.gz'), zlib.gzipSync(tar));
    const plain = await run('import', path.join(dir, 'root.tar'), '--tag', 'fromtar');
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toMatch(/^imported fromtar: 3 entries, 9 B of file data/);
    const taken = await run('import', path.join(dir, 'root.tar.gz'), '--tag', 'fromtar');
    expect(taken.status).toBe(1);
    expect(taken.stderr).toBe('layerfs: image fromtar exists; choose another name, or replace it with --force (its containers keep their layers)\n');
    const gz = await run('import', path.join(dir, 'root.tar.gz'), '--tag', 'fromtar', '--force');
    expect(gz.status).toBe(0);
    // The same tree gives the same layer, gzipped or not.
    expect(gz.stdout).toBe(plain.stdout);
    const bad = path.join(dir, 'bad.tar');
    fs.writeFileSync(bad, Buffer.alloc(1024, 'x'));
    const garbage = await run('import', bad, '--tag', 'bad');
    expect(garbage.status).toBe(1);
    expect(garbage.stderr).toMatch(/^layerfs: .*checksum/);
  });

  it('imports an OCI image archive with its layers, and a layer tarball with whiteouts', async () => {
    const { store, run } = storeCli();
    const dir = tempDir();
    const memory = new MemoryBlobStore();
    const layers = [layerFromSpec(memory, { '/etc/hosts': 'hosts\n', '/etc/old': 'old' }), layerFromSpec(memory, { '/etc/motd': 'motd\n' })];
    const chunks: Uint8Array[] = [];
    for await (const chunk of ociArchive(memory, layers)) chunks.push(chunk);
    fs.writeFileSync(path.join(dir, 'image.tar'), Buffer.concat(chunks));
    const oci = await run('import', path.join(dir, 'image.tar'), '--tag', 'oci');
    expect(oci.stderr).toBe('');
    expect(oci.stdout).toMatch(/^imported oci: \d+ entries, .* \(2 layers, top [0-9a-f]{12}\)\n$/);

    // A layer tarball deleting /etc/old: OCI's .wh. name becomes a whiteout.
    fs.writeFileSync(path.join(dir, 'layer.tar.gz'), zlib.gzipSync(packTar([{ path: 'etc/.wh.old', type: 'file', data: new Uint8Array(0) }])));
    expect((await run('import', path.join(dir, 'layer.tar.gz'), '--tag', 'delete-old')).status).toBe(0);

    const engine = Engine.open(store);
    engine.tag('stacked', [...engine.imageRecord('oci').layers, ...engine.imageRecord('delete-old').layers]);
    engine.create('stacked', 'c');
    const c = engine.openContainer('c');
    expect(c.readdir(c.resolve('/etc')).map((entry) => entry.name)).toEqual(['hosts', 'motd']);
  });
});
