import { describe, expect, it } from 'vitest';
import { setup, thrown } from './helpers.js';

/**
 * Divergences from Linux found through the fs API that live in the core (src/union), kept as
 * `it.fails` so the suite stays green while they stand and turns red once they are fixed (then
 * flip them to `it`). Each names the Linux behaviour it expects.
 */
describe('core divergences', () => {
  // open(O_CREAT) through a dangling symlink whose target ends in '/' names a directory, which
  // open cannot create: Linux answers EISDIR. UnionView.createFile follows the link with
  // resolveParent, which drops the trailing slash and creates a regular file named "b".
  it.fails('creating through a dangling "dir/" symlink is EISDIR', () => {
    const { fs } = setup({ '/a/x': 'x' });
    fs.symlinkSync('b/', '/a/new');
    expect(thrown(() => fs.appendFileSync('/a/new', 'data'))).toMatchObject({ code: 'EISDIR', syscall: 'open' });
  });
});
