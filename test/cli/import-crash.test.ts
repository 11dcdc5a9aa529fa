import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededBytes } from '../helpers/bytes.js';
import { hostTree, mainScript, storeCli } from './helpers.js';

/** A tree of many small files and a few large ones: an import of it takes a while. */
function bigTree(): string {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 40; i++) files[`lib/large-${i}.so`] = seededBytes(2 * 1024 * 1024, i + 1);
  for (let i = 0; i < 2000; i++) files[`share/doc/file-${i}.txt`] = seededBytes(3000 + i, i + 100);
  return hostTree(files);
}

describe('layerfs import killed midway', () => {
  it('leaves no image, a store that verifies, garbage gc removes, and a later import that works', async () => {
    const { store, run } = storeCli();
    expect((await run('import', hostTree({ 'etc/hosts': 'kept' }), '--tag', 'before')).status).toBe(0);
    const source = bigTree();
    let killed = 0;
    for (const delay of [50, 150, 400]) {
      const child = spawn(process.execPath, ['--import', 'tsx', mainScript, '--store', store, 'import', source, '--tag', 'big'], { stdio: 'ignore' });
      // Killed once it has written into the store: objects, packs or blobs of the tree.
      const objects = path.join(store, 'objects');
      const start = Date.now();
      while (!fs.readdirSync(objects).some((name) => name !== 'index') && Date.now() - start < 20_000) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, delay));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
        child.on('exit', (_, killed) => resolve(killed));
        child.kill('SIGKILL');
      });
      if (signal !== 'SIGKILL') continue; // it finished first: nothing to check this round
      killed++;
      expect(JSON.parse((await run('images', '--json')).stdout).map((image: { name: string }) => image.name)).toEqual(['before']);
      const verify = await run('verify');
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
      expect((await run('gc')).status).toBe(0);
      expect((await run('verify')).status).toBe(0);
    }
    expect(killed).toBeGreaterThan(0);
    expect((await run('import', source, '--tag', 'big')).status).toBe(0);
    expect((await run('verify')).stdout).toMatch(/all intact/);
    const diff = await run('create', 'big', '--name', 'c');
    expect(diff.status).toBe(0);
  }, 120_000);
});
