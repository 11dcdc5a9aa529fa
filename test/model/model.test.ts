import fc from 'fast-check';
import { describe, it } from 'vitest';
import { check, opArb } from './model.js';

describe('a container behaves like a plain memfs volume', () => {
  it('under random operation sequences', () => {
    const seed = Number(process.env.LAYERFS_SEED ?? Date.now() % 2 ** 31);
    console.log(`model test seed: ${seed} (rerun with LAYERFS_SEED=${seed})`);
    fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), check), { seed, numRuns: Number(process.env.LAYERFS_RUNS ?? 300) });
  });
});
