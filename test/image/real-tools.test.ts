import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importImage } from '../../src/image/index.js';
import { MemoryBlobStore } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { commandExists, viewTree } from './oci-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/image');
const isRoot = process.getuid?.() === 0;

async function importedTree(input: string | Uint8Array) {
  const store = new MemoryBlobStore();
  const image = await importImage(store, input, { ref: 'v1' });
  return { image, tree: viewTree(store, image.layers) };
}

describe('images made by umoci', () => {
  it('the committed layout (fixtures/image/umoci-layout.tar) imports to the tree umoci unpacks', async () => {
    const { image, tree } = await importedTree(path.join(FIXTURES, 'umoci-layout.tar'));
    expect(image.format).toBe('oci');
    expect(image.layers).toHaveLength(2);
    expect(tree).toEqual(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'umoci-layout.tree.json'), 'utf8')));
    // umoci's second layer names no parent directories: they keep the first layer's metadata.
    const [bottom, top] = [image.layers[0]!, image.layers[1]!];
    const { mode, uid, gid, mtime } = bottom.inode(bottom.lookup('/etc')!);
    expect(top.inode(top.lookup('/etc')!)).toMatchObject({ kind: 'dir', mode, uid, gid, mtime });
    expect(mtime).not.toBe(0n);
  });

  it.skipIf(!commandExists('umoci') || !isRoot)('a layout made now by the installed umoci imports to the tree it unpacks', async () => {
    const out = tempDir();
    execFileSync('npx', ['tsx', path.join(FIXTURES, 'make-umoci-fixture.ts')], { env: { ...process.env, LAYERFS_FIXTURE_OUT: out }, stdio: 'pipe' });
    const { tree } = await importedTree(path.join(out, 'umoci-layout.tar'));
    expect(tree).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'umoci-layout.tree.json'), 'utf8')));
  });
});

describe.skipIf(!commandExists('skopeo'))('images converted by skopeo', () => {
  it('skopeo\'s docker-archive and OCI copies of the umoci layout import to the same tree', async () => {
    const work = tempDir();
    const layout = path.join(work, 'layout');
    fs.mkdirSync(layout);
    execFileSync('tar', ['-xf', path.join(FIXTURES, 'umoci-layout.tar'), '-C', layout]);
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${path.join(work, 'docker.tar')}:app:v1`]);
    execFileSync('skopeo', ['copy', '-q', '--dest-compress-format', 'gzip', `oci:${layout}:v1`, `oci-archive:${path.join(work, 'oci.tar')}:v1`]);
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'umoci-layout.tree.json'), 'utf8'));
    for (const file of ['docker.tar', 'oci.tar']) {
      const { image, tree } = await importedTree(path.join(work, file));
      expect(tree, file).toEqual(expected);
      expect(image.format).toBe(file === 'docker.tar' ? 'docker' : 'oci');
    }
  });
});
