import { describe, it } from 'vitest';
import { check } from './model.js';

// Shrunk failures of the model test, kept so they can never come back.
describe('model regressions', () => {
  it('a zero-length write past the end does not grow the file', () => {
    check([{ op: 'pwrite', path: '/f', data: '', position: 3 }]);
  });

  it('link checks the target parent before refusing a directory source', () => {
    check([{ op: 'link', from: '/a', to: '/x/a' }]);
    check([{ op: 'link', from: '/a', to: '/f/a' }]);
  });

  it('renaming a directory over a symlink to it is ENOTDIR', () => {
    check([
      { op: 'symlink', target: '/a', path: '/x' },
      { op: 'rename', from: '/a', to: '/x' },
    ]);
  });

  it('a symlink is renamed itself, not what it points to', () => {
    check([
      { op: 'symlink', target: '/a', path: '/x' },
      { op: 'rename', from: '/x', to: '/y' },
      { op: 'rename', from: '/y', to: '/y' },
    ]);
  });

  it('a dangling symlink in the middle of a path is ENOENT', () => {
    check([
      { op: 'symlink', target: '/y', path: '/a/b' },
      { op: 'mkdir', path: '/a/b/a' },
    ]);
  });

  it('renaming a file onto a directory that contains it is ENOTEMPTY, as Linux says (kernel overlayfs found it)', () => {
    check([{ op: 'rename', from: '/b/x', to: '/b' }]);
  });
});
