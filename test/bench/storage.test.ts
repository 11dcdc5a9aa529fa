import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

// Runs the README's main job at its quick size, so the benchmark code itself is tested.
describe('the storage benchmark', () => {
  it('runs end to end at the quick size and writes consistent results', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-test-'));
    const out = path.join(dir, 'storage.json');
    try {
      const stdout = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/storage/run.ts', '--quick', '--out', out], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
      expect(stdout).toContain('layerfs overhead');
      const result = JSON.parse(fs.readFileSync(out, 'utf8'));
      expect(result.parameters.containers).toBe(50);
      expect(result.layerfs.totalBytes).toBe(result.layerfs.blobBytes + result.layerfs.upperBytes);
      expect(result.layerfs.overhead).toBeGreaterThanOrEqual(1);
      expect(result.layerfs.overhead).toBeLessThan(1.01);
      expect(result.fullCopyBytes).toBeGreaterThan(result.layerfs.totalBytes * 10);
      expect(result.checkpoints.at(-1).containers).toBe(50);
      if (!result.overlay.skipped) expect(result.overlay.databaseCopyUpBytes).toBeGreaterThanOrEqual(result.parameters.baseSize / 64);
      expect(fs.readFileSync(out.replace(/\.json$/, '.svg'), 'utf8')).toContain('<svg');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
