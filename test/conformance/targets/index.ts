import { memory, memoryLayered } from './memory.js';
import { node } from './node.js';
import type { Target } from './target.js';

/**
 * Every front end the conformance suite runs on. To add one (the FUSE mount: targets/fuse.ts),
 * export a Target whose setup mounts a container of the fixture image on a temporary directory
 * and returns node:fs with that directory as `root`, give it `unavailable()` (no /dev/fuse, not
 * root) and list it here. The suite never changes per target: what a target lacks goes in `lacks`.
 */
export const targets: Target[] = [node, memory, memoryLayered];

export type { Feature, FsLike, Handle, Target } from './target.js';
