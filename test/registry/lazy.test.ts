import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/container/index.js';
import { createFs } from '../../src/fs/index.js';
import type { OciDigest } from '../../src/image/index.js';
import { LazyBlobStore, RegistryClient, RegistryError, fetchRest, lazyPresence, lazyReads, pullLazy, pushImage } from '../../src/registry/index.js';
import { contentDigests } from '../../src/store/index.js';
import { ROOT_INO } from '../../src/union/index.js';
import { expectBytes, seededBytes } from '../helpers/bytes.js';
import { layerfs } from '../cli/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { baseAndApp, countRequests, folder, freshEngine, treeOf } from './helpers.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';

/** The store again, as the CLI opens it: lazily pulled images read through the registry. */
function reopen(engine: Engine, env: NodeJS.ProcessEnv = process.env): Engine {
  return Engine.open(engine.dir, { durable: false, reads: lazyReads(engine.dir, env) });
}

describe.skipIf(registryMissing)(`lazy pull against docker-registry (${INSTALL_HINT})`, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it('push --lazy, pull --lazy: usable at once, a file read fetches only its chunks, once', async () => {
    const source = freshEngine();
    source.importDirectory(folder({ 'big/a.bin': seededBytes(3 * 1024 * 1024, 1), 'big/b.bin': seededBytes(2 * 1024 * 1024, 2), 'etc/conf': 'x=1\n' }), 'img');
    await pushImage(source.store, source.dir, source.image('img').layers, `${registry.host}/lazy/img:1`, { lazy: true });
    const target = freshEngine();
    const pulled = await pullLazy(target, `${registry.host}/lazy/img:1`, { tag: 'img' });
    expect(pulled.lazy).toBe(true);
    // Only metadata so far: the trees and the chunk table.
    expect(pulled.fetched).toBeLessThan(64 * 1024);
    expect(target.image('img').layers.map((layer) => layer.id)).toEqual(source.image('img').layers.map((layer) => layer.id));
    expect(lazyPresence(target)).toMatchObject([{ image: 'img', presentBytes: 0 }]);

    const engine = reopen(target);
    engine.create('img', 'box');
    const box = createFs(engine.openContainer('box'));
    expect(box.readFileSync('/etc/conf', 'utf8')).toBe('x=1\n');
    expectBytes(box.readFileSync('/big/b.bin'), seededBytes(2 * 1024 * 1024, 2));
    const reader = engine.reader as LazyBlobStore;
    const afterB = { ...reader.fetched };
    expect(afterB.bytes).toBe(2 * 1024 * 1024 + 4);
    // Read again: nothing fetched twice.
    box.readFileSync('/big/b.bin');
    expect(reader.fetched).toEqual(afterB);
    const presence = lazyPresence(engine)[0]!;
    expect(presence.presentBytes).toBe(afterB.bytes);
    expect(presence.totalBytes).toBe(5 * 1024 * 1024 + 4);

    // --rest fetches the remainder; then the image is an ordinary one and verify passes.
    const rest = await fetchRest(engine, 'img');
    expect(rest.fetchedBytes).toBe(3 * 1024 * 1024);
    expect(lazyPresence(engine)).toEqual([]);
    expect(engine.verify().ok).toBe(true);
    expect(treeOf(engine, 'img')).toEqual(treeOf(source, 'img'));
  });

  it('a prefetch list: its files come with the trees, and reading them fetches nothing more', async () => {
    const source = freshEngine();
    source.importDirectory(folder({ 'bin/start': seededBytes(300 * 1024, 3), 'lib/libc.so': seededBytes(200 * 1024, 4), 'usr/share/big.dat': seededBytes(1024 * 1024, 5) }), 'img');
    await pushImage(source.store, source.dir, source.image('img').layers, `${registry.host}/lazy/pre:1`, { lazy: true, prefetch: ['/bin/start', '/lib/libc.so', '/not/there'] });
    const target = freshEngine();
    const pulled = await pullLazy(target, `${registry.host}/lazy/pre:1`, { tag: 'img' });
    expect(await pulled.prefetching).toBe(500 * 1024);
    const engine = reopen(target);
    engine.create('img', 'box');
    const box = createFs(engine.openContainer('box'));
    expectBytes(box.readFileSync('/bin/start'), seededBytes(300 * 1024, 3));
    expectBytes(box.readFileSync('/lib/libc.so'), seededBytes(200 * 1024, 4));
    expect((engine.reader as LazyBlobStore).fetched.bytes).toBe(0);
    expectBytes(box.readFileSync('/usr/share/big.dat'), seededBytes(1024 * 1024, 5));
    expect((engine.reader as LazyBlobStore).fetched.bytes).toBe(1024 * 1024);
  });

  it('reads that wait together share a request: ready() for several files asks once, then they read locally', async () => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`lib/f${i}.so`, seededBytes(100 * 1024 + i, 20 + i)]));
    const source = freshEngine();
    source.importDirectory(folder({ ...files, 'usr/share/unread.dat': seededBytes(512 * 1024, 30) }), 'img');
    await pushImage(source.store, source.dir, source.image('img').layers, `${registry.host}/lazy/together:1`, { lazy: true });
    const target = freshEngine();
    await pullLazy(target, `${registry.host}/lazy/together:1`, { tag: 'img' });
    const engine = reopen(target);
    engine.create('img', 'box');
    const container = engine.openContainer('box');
    const reader = engine.reader as LazyBlobStore;
    const inoOf = (file: string) => file.split('/').reduce((dir, name) => container.lookup(dir, name)!, ROOT_INO);
    const chunksOf = (file: string) => [...contentDigests(container.storedContent(inoOf(file))!)];
    const before = countRequests(await registry.settledLog(), 'GET', /\/v2\/lazy\/together\/blobs\//);
    const waits = Object.keys(files).map((file) => reader.ready(chunksOf(file)));
    expect(waits.every((wait) => wait instanceof Promise)).toBe(true);
    // The same chunks asked again while on their way: the same wait, no second fetch.
    expect(reader.ready(chunksOf('lib/f0.so'))).toBeInstanceOf(Promise);
    await Promise.all(waits);
    expect(countRequests(await registry.settledLog(), 'GET', /\/v2\/lazy\/together\/blobs\//) - before).toBe(1);
    expect(reader.fetched.bytes).toBe(Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0));
    // Now here: ready() has nothing to wait for, and reads fetch nothing more.
    expect(reader.ready(chunksOf('lib/f3.so'))).toBeUndefined();
    const box = createFs(container);
    for (const [file, bytes] of Object.entries(files)) expectBytes(box.readFileSync(`/${file}`), bytes);
    expect(reader.fetched.bytes).toBe(Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0));
    // What is not fetched is not lost: verify counts it apart and passes.
    const report = engine.verify();
    expect(report.ok).toBe(true);
    expect(report.notFetched).toBe(8);
  });

  it('several ranges of a blob in one request (multipart/byteranges), in the order asked', async () => {
    const source = freshEngine();
    source.importDirectory(folder({ 'data.bin': seededBytes(400 * 1024, 8) }), 'img');
    const pushed = await pushImage(source.store, source.dir, source.image('img').layers, `${registry.host}/lazy/ranges:1`, { lazy: true });
    const client = new RegistryClient(registry.host, 'http');
    const manifest = JSON.parse(Buffer.from((await client.getManifest('lazy/ranges', pushed.manifestDigest)).bytes).toString()) as { layers: { digest: OciDigest; size: number }[] };
    const { digest, size } = manifest.layers[0]!;
    const whole = await client.getBlob('lazy/ranges', digest, size, size);
    const ranges: [number, number][] = [[300_000, 300_100], [10, 20], [size - 5, size]];
    const before = countRequests(await registry.settledLog(), 'GET', /\/v2\/lazy\/ranges\/blobs\//);
    const parts = await client.blobRanges('lazy/ranges', digest, ranges);
    client.close();
    expect(countRequests(await registry.settledLog(), 'GET', /\/v2\/lazy\/ranges\/blobs\//) - before).toBe(1);
    ranges.forEach(([start, end], i) => expectBytes(parts[i]!, whole.subarray(start, end)));
  });

  it('a plain image pulls whole under --lazy', async () => {
    const source = freshEngine();
    baseAndApp(source);
    await pushImage(source.store, source.dir, source.image('base').layers, `${registry.host}/lazy/plain:1`);
    const target = freshEngine();
    const pulled = await pullLazy(target, `${registry.host}/lazy/plain:1`, { tag: 'plain' });
    expect(pulled.lazy).toBe(false);
    expect(treeOf(target, 'plain')).toEqual(treeOf(source, 'base'));
  });

  it('a registry gone after the lazy pull: a read fails with EIO after the timeout, never wrong bytes', async () => {
    const own = await startRegistry();
    const source = freshEngine();
    source.importDirectory(folder({ 'data.bin': seededBytes(300 * 1024, 9) }), 'img');
    await pushImage(source.store, source.dir, source.image('img').layers, `${own.host}/gone/img:1`, { lazy: true });
    const target = freshEngine();
    await pullLazy(target, `${own.host}/gone/img:1`, { tag: 'img' });
    await own.stop();
    const engine = reopen(target, { LAYERFS_LAZY_TIMEOUT: '2' });
    engine.create('img', 'box');
    const box = createFs(engine.openContainer('box'));
    const started = Date.now();
    let error: unknown;
    try {
      box.readFileSync('/data.bin');
    } catch (e) {
      error = e;
    }
    expect((error as NodeJS.ErrnoException).code).toBe('EIO');
    expect(Date.now() - started).toBeLessThan(15_000);
    // Metadata still answers: a stat needs no content.
    expect(box.statSync('/data.bin').size).toBe(300 * 1024);
    expect(engine.verify().problems.every((problem) => problem.fault === 'missing')).toBe(true);
  });

  it('the CLI: push --lazy, pull --lazy, df shows the share present, pull --rest completes it', async () => {
    const from = path.join(tempDir(), 'from');
    const src = folder({ 'f.bin': seededBytes(500 * 1024, 4) });
    expect((await layerfs(['--store', from, 'import', src, '--tag', 'src'])).status).toBe(0);
    expect((await layerfs(['--store', from, 'push', 'src', `${registry.host}/lazy/cli:1`, '--lazy'])).stdout).toMatch(/pushed src/);
    const store = path.join(tempDir(), 'store');
    const run = (...args: string[]) => layerfs(['--store', store, ...args]);
    const pulled = await run('pull', '--lazy', `${registry.host}/lazy/cli:1`, '--tag', 'got');
    expect(pulled.stdout).toMatch(/pulled got lazily/);
    const df = (await run('df')).stdout;
    expect(df).toMatch(/got\s+0 B\s+500 KiB\s+0%/);
    // Chunks not fetched yet are not lost: verify says so, and passes.
    const partly = await run('verify');
    expect(partly.stdout).toMatch(/8 chunks of lazily pulled images are not fetched yet/);
    expect(partly.status).toBe(0);
    // An export of the incomplete image fetches what it needs (and keeps it).
    const exported = await run('export', 'got', '--image', '--format', 'docker', '-o', path.join(tempDir(), 'got.tar'));
    expect(exported.status, exported.stderr).toBe(0);
    expect((await run('df')).stdout).toMatch(/got\s+500 KiB\s+500 KiB\s+100%/);
    const rest = await run('pull', '--rest', 'got');
    expect(rest.stdout).toMatch(/got is complete: nothing to fetch/);
    expect((await run('df')).stdout).not.toMatch(/Lazily pulled/);
    expect((await run('verify')).status).toBe(0);
    expect(fs.existsSync(path.join(store, 'registry', 'lazy', 'got.json'))).toBe(false);
  });
});

describe('a lazy index that lies', () => {
  it('a chunk table pointing outside its layer is refused before anything is stored', async () => {
    const { parseLazyIndex } = await import('../../src/registry/index.js');
    const layers = [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'a'.repeat(64)}` as const, size: 10_240 }];
    const index = { schema: 'layerfs.lazy.v1', layers: [{ blob: layers[0]!.digest, size: 10_240, layer: '', chunks: [[`xxh64:${'0'.repeat(16)}`, 10_000, 512]] }] };
    expect(() => parseLazyIndex(Buffer.from(JSON.stringify(index)), layers, 'index')).toThrow(RegistryError);
    expect(() => parseLazyIndex(Buffer.from(JSON.stringify(index)), layers, 'index')).toThrow(/points outside its layer of 10240 bytes/);
  });
});
