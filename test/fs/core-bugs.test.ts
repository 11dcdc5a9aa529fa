import { describe, expect, it } from 'vitest';
import { setup, thrown } from './helpers.js';

/** Divergences from Linux found through the fs API that lived in the core (src/union), fixed. */
describe('core divergences, fixed', () => {
  // open(O_CREAT) through a dangling symlink whose target ends in '/' names a directory, which
  // open cannot create: Linux answers EISDIR (createFile once made a regular file "b").
  it('creating through a dangling "dir/" symlink is EISDIR', () => {
    const { fs } = setup({ '/a/x': 'x' });
    fs.symlinkSync('b/', '/a/new');
    expect(thrown(() => fs.appendFileSync('/a/new', 'data'))).toMatchObject({ code: 'EISDIR', syscall: 'open' });
  });
});
