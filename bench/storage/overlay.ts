import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BasePlan } from './base.js';
import { writeBaseDir } from './base.js';
import { type ChangeSet, applyChangeSet, dirTarget, verifyChangeSet } from './changes.js';

export interface OverlayResult {
  containers: number;
  /** Allocated bytes of the lower directory (the base on disk). */
  baseBytes: number;
  /** Allocated bytes of each container's upper and work directories, in order. */
  upperBytes: number[];
  mountMs: number[];
  /** Bytes overlayfs copied up for the 4 KiB write (the whole file). */
  databaseCopyUpBytes: number;
}

/** Why kernel overlayfs cannot be measured here, or undefined when it can. */
export function overlayUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'kernel overlayfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting kernel overlayfs needs root';
  try {
    const filesystems = fs.readFileSync('/proc/filesystems', 'utf8');
    if (!/\boverlay\b/.test(filesystems)) execFileSync('modprobe', ['overlay'], { stdio: 'ignore' });
  } catch {
    return 'this kernel has no overlayfs';
  }
  return undefined;
}

/** Allocated bytes under a path (what du counts), directories included. */
export function allocatedBytes(root: string): number {
  const stat = fs.lstatSync(root);
  let total = stat.blocks * 512;
  if (stat.isDirectory()) for (const name of fs.readdirSync(root)) total += allocatedBytes(path.join(root, name));
  return total;
}

/**
 * The same base as one lower directory, one upper and work directory and overlay mount per
 * container, the same change set through each mount, then du of the uppers and work dirs.
 */
export function measureOverlay(
  plan: BasePlan,
  changeFor: (index: number) => ChangeSet,
  originalAround: (offset: number) => Uint8Array,
  count: number,
  workRoot: string,
  onProgress?: (done: number, total: number) => void,
): OverlayResult {
  const lower = path.join(workRoot, 'lower');
  fs.mkdirSync(lower, { recursive: true });
  writeBaseDir(lower, plan);
  const mounted: string[] = [];
  const result: OverlayResult = { containers: count, baseBytes: allocatedBytes(lower), upperBytes: [], mountMs: [], databaseCopyUpBytes: 0 };
  try {
    for (let index = 0; index < count; index++) {
      const dir = path.join(workRoot, `c${index}`);
      const [upper, work, merged] = ['upper', 'work', 'merged'].map((name) => path.join(dir, name)) as [string, string, string];
      const started = performance.now();
      for (const folder of [upper, work, merged]) fs.mkdirSync(folder, { recursive: true });
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
      result.mountMs.push(performance.now() - started);
      mounted.push(merged);
      const change = changeFor(index);
      const target = dirTarget(merged);
      applyChangeSet(target, change);
      verifyChangeSet(target, change, originalAround);
      result.upperBytes.push(allocatedBytes(upper) + allocatedBytes(work));
      if (index === 0) result.databaseCopyUpBytes = allocatedBytes(path.join(upper, plan.database.path));
      onProgress?.(index + 1, count);
    }
  } finally {
    for (const merged of mounted) execFileSync('umount', [merged]);
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
  return result;
}
