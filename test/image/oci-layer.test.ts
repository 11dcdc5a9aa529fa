import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError, TarError, importLayer, packTar } from '../../src/image/index.js';
import { Image, type Inode, type Layer, MemoryBlobStore, WHITEOUT, layerFromSpec, readContent } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { viewTree } from './oci-helpers.js';

const isRoot = process.getuid?.() === 0;

function inodeAt(layer: Layer, at: string): Inode {
  const ino = layer.lookup(at);
  if (ino === undefined || ino === WHITEOUT) throw new Error(`no inode at ${at}`);
  return layer.inode(ino);
}

function sha(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function failure(source: Uint8Array): Promise<Error> {
  return importLayer(new MemoryBlobStore(), source).then(
    () => { throw new Error('imported'); },
    (error: Error) => error,
  );
}

describe('OCI layer import: whiteouts', () => {
  it('turns .wh.NAME into a whiteout and .wh..wh..opq into an opaque directory', async () => {
    const { layer } = await importLayer(new MemoryBlobStore(), packTar([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/.wh.passwd', type: 'file' },
      { path: '.wh.tmp', type: 'file' },
      { path: 'var/.wh..wh..opq', type: 'file' },
      { path: 'var/new', type: 'file', data: Buffer.from('n') },
    ]));
    expect([...layer.walk()].map(([at, ino]) => [at, ino === WHITEOUT ? 'whiteout' : layer.inode(ino).kind])).toEqual([
      ['/etc', 'dir'], ['/etc/passwd', 'whiteout'], ['/tmp', 'whiteout'], ['/var', 'dir'], ['/var/new', 'file'],
    ]);
    expect(inodeAt(layer, '/var')).toMatchObject({ kind: 'dir', opaque: true });
    expect(inodeAt(layer, '/etc')).toMatchObject({ kind: 'dir', opaque: false });
  });

  it('hides lower entries when stacked, as docker applies the layer', async () => {
    const store = new MemoryBlobStore();
    const base = layerFromSpec(store, { '/etc/passwd': 'root', '/etc/group': 'g', '/var/old': 'o', '/tmp/t': 't' });
    const { layer } = await importLayer(store, packTar([
      { path: 'etc/.wh.passwd', type: 'file' },
      { path: '.wh.tmp', type: 'file' },
      { path: 'var/.wh..wh..opq', type: 'file' },
      { path: 'var/new', type: 'file' },
    ]));
    expect(Object.keys(viewTree(store, [base, layer]))).toEqual(['/etc', '/etc/group', '/var', '/var/new']);
  });

  it('keeps the opaque flag whatever the order of marker and directory member', async () => {
    const { layer } = await importLayer(new MemoryBlobStore(), packTar([
      { path: 'd/.wh..wh..opq', type: 'file' },
      { path: 'd/', type: 'dir', mode: 0o700 },
      { path: 'd/child', type: 'file' },
    ]));
    expect(inodeAt(layer, '/d')).toMatchObject({ opaque: true, mode: 0o700 });
    expect(layer.lookup('/d/child')).toBeGreaterThan(0);
  });

  it('applies a whiteout to lower layers only: an entry of the same layer stays (image-spec layer.md)', async () => {
    const store = new MemoryBlobStore();
    const base = layerFromSpec(store, { '/d/lower': 'l', '/f': 'lower f' });
    const { layer } = await importLayer(store, packTar([
      { path: 'd/upper', type: 'file' },
      { path: '.wh.d', type: 'file' },
      { path: '.wh.f', type: 'file' },
      { path: 'f', type: 'file', data: Buffer.from('upper f') },
      { path: '.wh.g', type: 'file' },
      { path: 'g/inside', type: 'file' },
    ]));
    expect(inodeAt(layer, '/d')).toMatchObject({ kind: 'dir', opaque: true });
    expect(inodeAt(layer, '/g')).toMatchObject({ kind: 'dir', opaque: true });
    expect(Buffer.from(readContent(store, (inodeAt(layer, '/f') as Extract<Inode, { kind: 'file' }>).content)).toString()).toBe('upper f');
    expect(Object.keys(viewTree(store, [base, layer]))).toEqual(['/d', '/d/upper', '/f', '/g', '/g/inside']);
  });

  it('gives directories the tarball leaves out the metadata they have below, as extraction leaves them', async () => {
    const store = new MemoryBlobStore();
    const base = layerFromSpec(store, {
      '/': { kind: 'dir', mode: 0o750, mtime: 7n },
      '/etc': { kind: 'dir', mode: 0o700, uid: 5, gid: 6, mtime: 9_000_000_000n, xattrs: { 'user.a': 'b' } },
      '/etc/shadow': 's',
    });
    const tar = packTar([{ path: 'etc/.wh.shadow', type: 'file' }, { path: 'new/dir/file', type: 'file' }]);
    const { layer, implicitDirs } = await importLayer(store, tar, { below: [base] });
    expect(implicitDirs).toEqual(['/', '/etc', '/new', '/new/dir']);
    expect(layer.root).toMatchObject({ mode: 0o750, mtime: 7n });
    expect(inodeAt(layer, '/etc')).toMatchObject({ mode: 0o700, uid: 5, gid: 6, mtime: 9_000_000_000n });
    expect(inodeAt(layer, '/etc').xattrs.get('user.a')).toEqual(Buffer.from('b'));
    expect(inodeAt(layer, '/new/dir')).toMatchObject({ mode: 0o755, mtime: 0n });
    // Alone, the same tarball gives defaults.
    expect(inodeAt((await importLayer(store, tar)).layer, '/etc')).toMatchObject({ mode: 0o755, uid: 0, mtime: 0n });
  });

  it('skips AUFS metadata (.wh..wh.plnk, .wh..wh.aufs)', async () => {
    const { layer } = await importLayer(new MemoryBlobStore(), packTar([
      { path: '.wh..wh.plnk/', type: 'dir' },
      { path: '.wh..wh.plnk/12.34', type: 'file' },
      { path: '.wh..wh.aufs', type: 'file' },
      { path: 'kept', type: 'file' },
    ]));
    expect([...layer.walk()].map(([at]) => at)).toEqual(['/kept']);
  });

  it.each([
    ['.wh...', 'cannot hide ".."'],
    ['a/.wh..', 'cannot hide "."'],
    ['.wh.', 'cannot hide ""'],
    ['.wh.x/y', 'inside whiteout ".wh.x"'],
  ])('rejects the marker %s, naming it', async (name, message) => {
    const error = await failure(packTar([{ path: 'ok', type: 'file' }, { path: name, type: 'file' }]));
    expect(error).toBeInstanceOf(TarError);
    expect(error.message).toContain(JSON.stringify(name));
    expect(error.message).toContain(message);
    expect((error as TarError).offset).toBe(512);
  });
});

describe('OCI layer import: bytes and digests', () => {
  const tar = packTar([{ path: 'a', type: 'file', data: Buffer.from('hello') }]);

  it('reads plain and gzip tars into the same layer; digest covers the blob, diff id the tar', async () => {
    const store = new MemoryBlobStore();
    const gz = gzipSync(tar);
    const plain = await importLayer(store, tar);
    const zipped = await importLayer(store, gz);
    expect(zipped.layer.id).toBe(plain.layer.id);
    expect(plain).toMatchObject({ digest: sha(tar), diffId: sha(tar), size: tar.length, tarSize: tar.length, compression: 'none' });
    expect(zipped).toMatchObject({ digest: sha(gz), diffId: sha(tar), size: gz.length, tarSize: tar.length, compression: 'gzip' });
  });

  it('hashes the padding GNU tar writes after the end of the archive into the diff id', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'f'), 'x');
    const archive = execFileSync('tar', ['--format=pax', '-cf', '-', '-C', root, 'f']);
    expect(archive.length).toBe(10240);
    const imported = await importLayer(new MemoryBlobStore(), archive);
    expect(imported.diffId).toBe(sha(archive));
  });

  it('takes gzip written in several members, as gzip -d does', async () => {
    const half = tar.length / 2;
    const twoMembers = Buffer.concat([gzipSync(tar.subarray(0, half)), gzipSync(tar.subarray(half))]);
    expect((await importLayer(new MemoryBlobStore(), twoMembers)).diffId).toBe(sha(tar));
  });

  it.each([
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0, 0]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0, 0]],
  ])('refuses %s layers clearly', async (kind, magic) => {
    const error = await failure(Uint8Array.from([...magic, ...new Array(600).fill(0)]));
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({ code: 'EUNSUPPORTED' });
    expect(error.message).toContain(`${kind}-compressed`);
  });

  it('reports corrupt and truncated gzip as EFORMAT', async () => {
    const gz = gzipSync(tar);
    const corrupt = Buffer.from(gz);
    corrupt[20] = corrupt[20]! ^ 0xff;
    corrupt[21] = corrupt[21]! ^ 0xff;
    for (const bad of [corrupt, gz.subarray(0, gz.length - 10)]) {
      const error = await failure(bad);
      expect(error).toBeInstanceOf(ImageError);
      expect((error as ImageError).code).toBe('EFORMAT');
    }
  });
});

describe('OCI layers made by GNU tar', () => {
  function makeTree(): string {
    const root = tempDir();
    const at = (name: string) => path.join(root, name);
    fs.mkdirSync(at(`${'d'.repeat(120)}/sub`), { recursive: true });
    fs.writeFileSync(at(`${'d'.repeat(120)}/sub/${'f'.repeat(200)}`), 'long');
    fs.writeFileSync(at('suid'), 'suid');
    fs.chmodSync(at('suid'), 0o4755);
    fs.mkdirSync(at('sgid'));
    fs.chmodSync(at('sgid'), 0o2775);
    fs.mkdirSync(at('tmp'));
    fs.chmodSync(at('tmp'), 0o1777);
    fs.linkSync(at('suid'), at('hard'));
    fs.symlinkSync('/etc/passwd', at('abs-link'));
    execFileSync('mkfifo', ['-m', '0640', at('fifo')]);
    fs.mkdirSync(at('etc'));
    fs.writeFileSync(at('etc/.wh.shadow'), '');
    fs.mkdirSync(at('opaque'));
    fs.writeFileSync(at('opaque/.wh..wh..opq'), '');
    fs.writeFileSync(at('opaque/mine'), 'mine');
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(at('suid'))}, 'user.note', b'\\x00\\xff')`]);
    execFileSync('touch', ['-h', '-d', '@1700000000.123456789', at('suid'), at('abs-link')]);
    return root;
  }

  it.each(['pax', 'gnu'])('keeps whiteouts, long names, links, modes, owners, fifos (--format=%s)', async (format) => {
    const root = makeTree();
    const archive = execFileSync('tar', [`--format=${format}`, '--xattrs', '--owner=1000', '--group=2000', '-czf', '-', '-C', root, '.']);
    const { layer, compression } = await importLayer(new MemoryBlobStore(), archive);
    expect(compression).toBe('gzip');
    expect(layer.lookup('/etc/shadow')).toBe(WHITEOUT);
    expect(inodeAt(layer, '/opaque')).toMatchObject({ opaque: true });
    expect(layer.lookup('/opaque/mine')).toBeGreaterThan(0);
    expect(inodeAt(layer, `/${'d'.repeat(120)}/sub/${'f'.repeat(200)}`).kind).toBe('file');
    expect(inodeAt(layer, '/suid')).toMatchObject({ mode: 0o4755, uid: 1000, gid: 2000 });
    expect(inodeAt(layer, '/sgid')).toMatchObject({ mode: 0o2775 });
    expect(inodeAt(layer, '/tmp')).toMatchObject({ mode: 0o1777 });
    expect(layer.lookup('/hard')).toBe(layer.lookup('/suid'));
    expect(inodeAt(layer, '/abs-link')).toMatchObject({ kind: 'symlink', target: '/etc/passwd' });
    expect(inodeAt(layer, '/fifo')).toMatchObject({ kind: 'fifo', mode: 0o640 });
    if (format === 'pax') {
      expect(inodeAt(layer, '/suid').mtime).toBe(1_700_000_000_123_456_789n);
      expect(inodeAt(layer, '/suid').xattrs.get('user.note')).toEqual(Uint8Array.of(0, 0xff));
    }
  });

  it.skipIf(!isRoot)('keeps devices', async () => {
    const root = tempDir();
    execFileSync('mknod', [path.join(root, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(root, 'loop'), 'b', '7', '300']);
    const { layer } = await importLayer(new MemoryBlobStore(), execFileSync('tar', ['--format=pax', '-cf', '-', '-C', root, '.']));
    expect(inodeAt(layer, '/null')).toMatchObject({ kind: 'chardev', rdev: fs.lstatSync(path.join(root, 'null')).rdev });
    expect(inodeAt(layer, '/loop')).toMatchObject({ kind: 'blockdev', rdev: fs.lstatSync(path.join(root, 'loop')).rdev });
  });

  it('stacks onto an image as an extraction by hand would', async () => {
    const store = new MemoryBlobStore();
    const base = layerFromSpec(store, { '/etc/shadow': 's', '/etc/passwd': 'p', '/opaque/old': 'o' });
    const { layer } = await importLayer(store, execFileSync('tar', ['--format=pax', '-cf', '-', '-C', makeTree(), '.']));
    const tree = viewTree(store, [base, layer]);
    expect(tree['/etc/shadow']).toBeUndefined();
    expect(tree['/etc/passwd']).toBeDefined();
    expect(tree['/opaque/old']).toBeUndefined();
    expect(tree['/opaque/mine']).toBeDefined();
    expect(new Image([base, layer]).layers).toHaveLength(2);
  });
});
