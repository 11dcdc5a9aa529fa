import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type ImageConfig,
  ImageError,
  dockerArchive,
  importImage,
  importLayer,
  layerTarGzip,
  ociArchive,
  readTar,
  writeOciLayout,
} from '../../src/image/index.js';
import { Container, Image, type Layer, LayerBuilder, MemoryBlobStore, layerFromSpec } from '../../src/index.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { bytesOf, commandExists, hostTree, viewTree } from './oci-helpers.js';

const isRoot = process.getuid?.() === 0;
const T = 1_600_000_000_123_456_789n;

/** An image and a container with every kind of change: copy-up, delete, opaque dir, rename, links, metadata. */
function scenario(store = new MemoryBlobStore()) {
  const sparse = new Uint8Array(300_000);
  sparse.set(Buffer.from('end'), 299_997);
  const base = layerFromSpec(store, {
    '/': { kind: 'dir', mode: 0o755, mtime: T },
    '/etc': { kind: 'dir', mtime: T },
    '/etc/passwd': { kind: 'file', data: 'root:x:0:0', mtime: T },
    '/etc/shadow': { kind: 'file', data: 'secret', mode: 0o600, mtime: T },
    '/bin/sh': { kind: 'file', data: 'shell', mode: 0o4755, mtime: T },
    '/bin/ls': { kind: 'link', target: '/bin/sh' },
    '/var/cache/a': 'a',
    '/var/cache/b': 'b',
    '/usr/share/doc/readme': { kind: 'file', data: 'doc', mtime: T },
    '/big': seededBytes(300_000, 5),
    '/sparse': sparse,
    '/lib/libc.so': { kind: 'symlink', target: 'libc.so.6', mtime: T },
    '/tmp': { kind: 'dir', mode: 0o1777, mtime: T },
    '/dev/null': { kind: 'chardev', rdev: 259, mode: 0o666 },
    '/opt/was-dir/inside': 'i',
    '/opt/was-file': 'f',
  });
  const image = new Image([base]);
  const container = new Container(image, store);
  const write = (at: string, data: string) => {
    const ino = container.exists(at) ? container.resolve(at) : container.createFile(at, 0o644);
    container.truncate(ino, 0);
    container.write(ino, 0, Buffer.from(data));
    return ino;
  };
  write('/etc/passwd', 'root:x:0:0\nme:x:1000:1000');
  container.unlink('/etc/shadow');
  container.unlink('/var/cache/a');
  container.unlink('/var/cache/b');
  container.rmdir('/var/cache');
  container.mkdir('/var/cache', 0o755);
  write('/var/cache/new', 'fresh');
  container.chmod(container.resolve('/usr/share/doc/readme'), 0o600);
  container.rename('/usr/share/doc', '/usr/share/docs');
  container.mkdir('/home', 0o755);
  const home = container.mkdir('/home/me', 0o750);
  container.chown(home, 1000, 1000);
  container.symlink('/etc/passwd', '/home/me/link');
  container.link('/bin/sh', '/home/me/sh');
  container.mknod('/home/me/fifo', 'fifo', 0o640);
  const noted = write('/home/me/noted', 'xattr');
  container.setxattr(noted, 'user.k', Uint8Array.of(0, 1, 255));
  container.unlink('/opt/was-dir/inside');
  container.rmdir('/opt/was-dir');
  write('/opt/was-dir', 'a file now');
  container.unlink('/opt/was-file');
  container.mkdir('/opt/was-file', 0o700);
  write('/opt/was-file/inside', 'a dir now');
  container.write(container.resolve('/big'), 100_000, Buffer.from('patched'));
  container.utimes(container.resolve('/big'), T, T);
  return { store, image, container };
}

/** Member names (and link targets) of a gzip layer tarball, in order. */
async function members(gz: Uint8Array): Promise<string[]> {
  const names: string[] = [];
  for await (const { header } of readTar(gunzipSync(gz))) names.push(header.type === 'link' ? `${header.path} => ${header.linkpath}` : header.path);
  return names;
}

/**
 * Applies layer tarballs as a person with GNU tar would: whiteouts first, and an entry that
 * changes between directory and non-directory removed (image-spec layer.md), then extraction
 * without the markers.
 */
function applyByHand(layers: Uint8Array[], root: string): void {
  for (const layer of layers) {
    const listing = execFileSync('tar', ['-tvzf', '-', '--quoting-style=literal'], { input: layer }).toString().trim().split('\n');
    const names = execFileSync('tar', ['-tzf', '-'], { input: layer }).toString().trim().split('\n');
    for (const [i, name] of names.entries()) {
      const target = path.join(root, name);
      const isDir = listing[i]!.startsWith('d');
      if (fs.existsSync(target) && fs.lstatSync(target).isDirectory() !== isDir) fs.rmSync(target, { recursive: true });
    }
    for (const name of names) {
      const base = path.posix.basename(name);
      const dir = path.join(root, path.posix.dirname(name));
      if (base === '.wh..wh..opq') {
        for (const child of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(path.join(dir, child), { recursive: true, force: true });
      } else if (base.startsWith('.wh.')) {
        fs.rmSync(path.join(dir, base.slice(4)), { recursive: true, force: true });
      }
    }
    execFileSync('tar', ['-xzf', '-', '-C', root, '--exclude=.wh.*', '--numeric-owner', '--xattrs', "--xattrs-include=*"], { input: layer });
  }
}

describe('exporting a container\'s changes as an OCI layer', () => {
  it('writes the changed paths with whiteouts in OCI form', async () => {
    const { store, container } = scenario();
    const diff = container.diff().map((change) => change.path);
    const { layer } = container.commit();
    const names = await members(await bytesOf(layerTarGzip(store, layer)));
    expect(names).toContain('etc/.wh.shadow');
    expect(names).toContain('usr/share/.wh.doc');
    expect(names).toContain('var/cache/.wh..wh..opq');
    // Three names of one inode: the first in the layer's order is the file, the others link to it.
    expect(names).toContain('bin/sh => bin/ls');
    expect(names).toContain('home/me/sh => bin/ls');
    for (const changed of diff) {
      const name = changed.slice(1);
      const whiteout = `${path.posix.dirname(name) === '.' ? '' : `${path.posix.dirname(name)}/`}.wh.${path.posix.basename(name)}`;
      expect(names.some((member) => member.replace(/\/$/, '') === name || member.startsWith(`${name} =>`) || member === whiteout), changed).toBe(true);
    }
    expect(names[0]).toBe('./');
  });

  it('gives the container\'s tree when stacked on its image', async () => {
    const { store, image, container } = scenario();
    const { layer } = container.commit();
    const fresh = new MemoryBlobStore();
    const imported = await importLayer(fresh, await bytesOf(layerTarGzip(store, layer)));
    const base = await importLayer(fresh, await bytesOf(layerTarGzip(store, image.layers[0]!)));
    expect(viewTree(fresh, [base.layer, imported.layer], { dirTimes: true })).toEqual(viewTree(store, [...image.layers, layer], { dirTimes: true }));
  });

  it('is byte-identical for the same tree, whatever order it was built in', async () => {
    const store = new MemoryBlobStore();
    const forward = new LayerBuilder(store).file('/a/x', 'x').dir('/a', { mode: 0o700 }).symlink('/b', 'a/x').whiteout('/c').dir('/d', undefined, { opaque: true }).build();
    const backward = new LayerBuilder(store).dir('/d', undefined, { opaque: true }).whiteout('/c').symlink('/b', 'a/x').dir('/a', { mode: 0o700 }).file('/a/x', 'x').build();
    const first = await bytesOf(layerTarGzip(store, forward));
    expect(Buffer.compare(first, await bytesOf(layerTarGzip(store, backward)))).toBe(0);
    expect(Buffer.compare(first, await bytesOf(layerTarGzip(store, forward)))).toBe(0);
    // The gzip header has no time and a fixed OS byte.
    expect([...first.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  });

  it('keeps layer ids through export and import when asked for all times', async () => {
    const { store, image, container } = scenario();
    const { layer } = container.commit();
    for (const original of [image.layers[0]!, layer]) {
      const back = await importLayer(new MemoryBlobStore(), await bytesOf(layerTarGzip(store, original, { times: 'all' })));
      expect(back.layer.id).toBe(original.id);
    }
  });

  it('refuses entries OCI layers cannot name, and leaves out sockets', async () => {
    const store = new MemoryBlobStore();
    const marker = layerFromSpec(store, { '/d/.wh.real-file': 'x' });
    const error = await bytesOf(layerTarGzip(store, marker)).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).toMatch(/\/d\/.wh.real-file cannot be written to an OCI layer/);
    const skipped: string[] = [];
    const socket = layerFromSpec(store, { '/run/sock': { kind: 'socket' }, '/run/file': 'f' });
    const names = await members(await bytesOf(layerTarGzip(store, socket, { onSkip: (at) => skipped.push(at) })));
    expect(names).toEqual(['./', 'run/', 'run/file']);
    expect(skipped).toEqual(['/run/sock']);
  });
});

describe('exporting whole images', () => {
  it('writes OCI archives, docker archives and layouts that import to the same tree', async () => {
    const { store, container } = scenario();
    const { image } = container.commit();
    const layouts = tempDir();
    await writeOciLayout(store, image.layers, layouts, { tags: ['v1'] });
    for (const input of [await bytesOf(ociArchive(store, image.layers)), await bytesOf(dockerArchive(store, image.layers)), layouts]) {
      const fresh = new MemoryBlobStore();
      const back = await importImage(fresh, input);
      expect(viewTree(fresh, back.layers, { dirTimes: true })).toEqual(viewTree(store, image.layers, { dirTimes: true }));
    }
  });

  it('is deterministic: the same layers give the same archive bytes and layout files', async () => {
    const { store, container } = scenario();
    const { image } = container.commit();
    for (const archive of [ociArchive, dockerArchive]) {
      const first = await bytesOf(archive(store, image.layers, { tags: ['x'] }));
      expect(Buffer.compare(first, await bytesOf(archive(store, image.layers, { tags: ['x'] })))).toBe(0);
    }
    const [a, b] = [tempDir(), tempDir()];
    await writeOciLayout(store, image.layers, a);
    await writeOciLayout(store, image.layers, b);
    const files = (dir: string) => execFileSync('find', ['.', '-type', 'f'], { cwd: dir }).toString().split('\n').sort().map((file) => file && `${file} ${createHash('sha256').update(fs.readFileSync(path.join(dir, file))).digest('hex')}`);
    expect(files(a)).toEqual(files(b));
  });

  it('writes a config with the diff ids, history and settings, and a manifest and index that name them', async () => {
    const { store, container } = scenario();
    const { image } = container.commit();
    const base: ImageConfig = {
      architecture: 'arm64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [] },
      history: [{ created_by: 'FROM scratch' }, { created_by: 'ENV PATH=/bin', empty_layer: true }],
    };
    const dir = tempDir();
    await writeOciLayout(store, image.layers, dir, { config: base, tags: ['latest'] });
    const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const blob = (digest: string) => fs.readFileSync(path.join(dir, 'blobs/sha256', digest.slice(7)));
    const index = read('index.json');
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(index.manifests[0].annotations).toEqual({ 'org.opencontainers.image.ref.name': 'latest' });
    const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config).toMatchObject({ architecture: 'arm64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] } });
    expect(config.created).toBeUndefined();
    expect(config.history).toEqual([
      { created_by: 'FROM scratch' },
      { created_by: 'ENV PATH=/bin', empty_layer: true },
      { created_by: 'layerfs', comment: `layerfs layer ${image.layers[1]!.id}` },
    ]);
    for (const [i, layer] of manifest.layers.entries()) {
      const bytes = blob(layer.digest);
      expect(layer).toEqual({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length });
      expect(config.rootfs.diff_ids[i]).toBe(`sha256:${createHash('sha256').update(gunzipSync(bytes)).digest('hex')}`);
    }
    expect(execFileSync('tar', ['-tf', '-'], { input: await bytesOf(dockerArchive(store, image.layers, { tags: ['app'] })) }).toString()).toMatch(/manifest.json/);
  });
});

describe('another tool applies the exported layers', () => {
  async function exported() {
    const { store, container } = scenario();
    const { image } = container.commit();
    const layers = await Promise.all(image.layers.map(async (layer: Layer) => bytesOf(layerTarGzip(store, layer))));
    return { store, image, layers };
  }

  it.skipIf(!isRoot)('GNU tar extracting each layer and whiteouts applied by hand give the same tree', async () => {
    const { store, image, layers } = await exported();
    const root = tempDir();
    applyByHand(layers, root);
    expect(hostTree(root)).toEqual(viewTree(store, image.layers));
  });

  const umoci = commandExists('umoci');
  it.skipIf(!umoci || !isRoot)('umoci unpack gives the same tree', async () => {
    const { store, image } = await exported();
    const dir = path.join(tempDir(), 'layout');
    await writeOciLayout(store, image.layers, dir, { tags: ['latest'] });
    const bundle = path.join(tempDir(), 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${dir}:latest`, bundle], { stdio: 'pipe' });
    expect(hostTree(path.join(bundle, 'rootfs'))).toEqual(viewTree(store, image.layers));
  });

  const skopeo = commandExists('skopeo');
  it.skipIf(!skopeo)('skopeo reads our OCI and docker archives, and its copies import to the same tree', async () => {
    const { store, image } = await exported();
    const work = tempDir();
    fs.writeFileSync(path.join(work, 'oci.tar'), await bytesOf(ociArchive(store, image.layers, { tags: ['latest'] })));
    fs.writeFileSync(path.join(work, 'docker.tar'), await bytesOf(dockerArchive(store, image.layers, { tags: ['app:latest'] })));
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${path.join(work, 'oci.tar')}:latest`]).toString());
    expect(inspect.Layers).toHaveLength(2);
    execFileSync('skopeo', ['copy', '-q', `oci-archive:${path.join(work, 'oci.tar')}:latest`, `oci:${path.join(work, 'from-oci')}:latest`]);
    execFileSync('skopeo', ['copy', '-q', `docker-archive:${path.join(work, 'docker.tar')}`, `oci:${path.join(work, 'from-docker')}:latest`]);
    execFileSync('skopeo', ['copy', '-q', `oci:${path.join(work, 'from-oci')}:latest`, `docker-archive:${path.join(work, 'again.tar')}:again:latest`]);
    for (const input of ['from-oci', 'from-docker', 'again.tar']) {
      const fresh = new MemoryBlobStore();
      const back = await importImage(fresh, path.join(work, input));
      expect(viewTree(fresh, back.layers, { dirTimes: true }), input).toEqual(viewTree(store, image.layers, { dirTimes: true }));
    }
  });
});
