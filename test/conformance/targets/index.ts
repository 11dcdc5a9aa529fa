import { fuse, fuseAsUser } from './fuse.js';
import { memory, memoryAsUser, memoryLayered } from './memory.js';
import { node, nodeAsUser } from './node.js';
import type { Target } from './target.js';

/**
 * Every front end the conformance suite runs on: the reference (node:fs), the in-memory fs over
 * one and two layers, and the FUSE mount. The suite never changes per target: what a target
 * lacks goes in `lacks`, and a target that cannot run here says why in `unavailable()`.
 */
export const targets: Target[] = [node, memory, memoryLayered, fuse];

/** The same front ends used by an ordinary user, each with root's fs beside it (`admin`). */
export const userTargets: Target[] = [nodeAsUser, memoryAsUser, fuseAsUser];

export type { Feature, FsLike, Handle, Target } from './target.js';
