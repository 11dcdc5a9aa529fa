import fc from 'fast-check';
import { expect } from 'vitest';
import { Container, Image, MemoryBlobStore, layerFromSpec } from '../../src/index.js';
import { ContainerTarget, MemfsTarget, type Op, containerTree, fsTree } from './ops.js';

// The image: two layers, with a whiteout, an overridden file and a merged directory.
export const lower = { '/a/x': 'ax', '/a/y': 'ay', '/b/x': 'bx', '/f': 'f0', '/gone': 'g' };
export const upper = { '/a/z': 'az', '/f': 'f1', '/gone': { kind: 'whiteout' } as const, '/c': { kind: 'dir' } as const };
const merged: Record<string, string | null> = { '/a/x': 'ax', '/a/y': 'ay', '/a/z': 'az', '/b/x': 'bx', '/f': 'f1', '/c': null };

const name = fc.constantFrom('a', 'b', 'c', 'f', 'x', 'y');
const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((names) => `/${names.join('/')}`);
const data = fc.string({ maxLength: 12 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path, data }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pwrite' as const), path, data, position: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path, size: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('unlink' as const), path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rmdir' as const), path }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('rename' as const), from: path, to: path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path, mode: fc.constantFrom(0o700, 0o750, 0o755, 0o4755) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), target: path, path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('link' as const), from: path, to: path }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
);

/** Runs ops on both and checks outcome and tree after each; a forked-away container must not change. */
export function check(ops: Op[]): void {
  const store = new MemoryBlobStore();
  const image = new Image([layerFromSpec(store, lower), layerFromSpec(store, upper)]);
  const subject = new ContainerTarget(new Container(image, store));
  const reference = new MemfsTarget(merged);
  expect(containerTree(subject.container)).toEqual(fsTree(reference.vol as never));
  const left: { container: Container; tree: Record<string, string> }[] = [];
  for (const [index, step] of ops.entries()) {
    const before = subject.container;
    const got = subject.apply(step);
    const want = reference.apply(step);
    expect(got, `step ${index} ${JSON.stringify(step)}`).toBe(want);
    expect(containerTree(subject.container), `after step ${index} ${JSON.stringify(step)}`).toEqual(fsTree(reference.vol as never));
    if (step.op === 'fork') left.push({ container: before, tree: containerTree(before) });
  }
  for (const { container, tree } of left) expect(containerTree(container)).toEqual(tree);
}
