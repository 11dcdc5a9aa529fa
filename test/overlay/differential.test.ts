import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Container, Image, MemoryBlobStore, layerFromSpec } from '../../src/index.js';
import { lower, opArb, upper } from '../model/model.js';
import { ContainerTarget, type Op, containerTree, fsTree } from '../model/ops.js';
import { KernelOverlay, kernelOverlayUnavailable } from './kernel.js';

const unavailable = kernelOverlayUnavailable();
if (unavailable) console.warn(`SKIPPED: differential tests against kernel overlayfs: ${unavailable}`);

/**
 * Symlinks are given relative targets: an absolute one would point outside the mount on the host,
 * while a container resolves it inside its root, by design.
 */
function relativeLinks(ops: Op[]): Op[] {
  return ops.map((step) => (step.op === 'symlink' ? { ...step, target: path.relative(path.dirname(step.path), step.target) || '.' } : step));
}

function replay(ops: Op[]): void {
  const store = new MemoryBlobStore();
  const subject = new ContainerTarget(new Container(new Image([layerFromSpec(store, lower), layerFromSpec(store, upper)]), store));
  const kernel = new KernelOverlay([lower, upper]);
  try {
    expect(containerTree(subject.container)).toEqual(fsTree(fs, kernel.merged));
    for (const [index, step] of ops.entries()) {
      const want = kernel.apply(step);
      const got = subject.apply(step);
      expect(got, `step ${index} ${JSON.stringify(step)}`).toBe(want);
      expect(containerTree(subject.container), `after step ${index} ${JSON.stringify(step)}`).toEqual(fsTree(fs, kernel.merged));
    }
  } finally {
    kernel.close();
  }
}

describe.skipIf(unavailable !== undefined)('a container behaves like kernel overlayfs', () => {
  it('under random operation sequences (same tree, same errno)', () => {
    // Files are created 0666 and directories 0755 by both sides, without the process umask.
    const umask = process.umask(0);
    try {
      const seed = Number(process.env.LAYERFS_SEED ?? Date.now() % 2 ** 31);
      console.log(`kernel differential seed: ${seed} (rerun with LAYERFS_SEED=${seed})`);
      fc.assert(fc.property(fc.array(opArb, { maxLength: 25 }).map(relativeLinks), replay), { seed, numRuns: Number(process.env.LAYERFS_RUNS ?? 60) });
    } finally {
      process.umask(umask);
    }
  }, 600_000);
});
