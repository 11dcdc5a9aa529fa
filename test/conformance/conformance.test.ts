import { describe } from 'vitest';
import { apis } from './suite/apis.js';
import { asynchronous } from './suite/asynchronous.js';
import { context } from './suite/context.js';
import { descriptors } from './suite/descriptors.js';
import { errors } from './suite/errors.js';
import { limits } from './suite/limits.js';
import { listing } from './suite/listing.js';
import { modes } from './suite/modes.js';
import { names } from './suite/names.js';
import { permissions } from './suite/permissions.js';
import { timeUpdates } from './suite/times.js';
import { xattrs } from './suite/xattrs.js';
import { targets, userTargets } from './targets/index.js';

/**
 * One suite, every front end: the same tests against node:fs on a temporary directory (the
 * reference, so the suite itself is checked), layerfs's in-memory fs over a container of the
 * fixture image, and the same over the fixture split across two layers. A target that cannot run
 * here (FUSE without /dev/fuse) is skipped as a whole; what a target lacks is skipped per test.
 */
describe.each(targets)('$name', (target) => {
  const reason = target.unavailable?.();
  if (reason) {
    describe.skip(`unavailable: ${reason}`, () => {});
    return;
  }
  const ctx = context(target);
  errors(ctx);
  descriptors(ctx);
  listing(ctx);
  names(ctx);
  asynchronous(ctx);
  xattrs(ctx);
  limits(ctx);
  timeUpdates(ctx);
  modes(ctx);
  apis(ctx);
});

/** The same front ends used by an ordinary user, root's fs beside it preparing the tree. */
describe.each(userTargets)('$name', (target) => {
  const reason = target.unavailable?.();
  if (reason) {
    describe.skip(`unavailable: ${reason}`, () => {});
    return;
  }
  permissions(context(target));
});
