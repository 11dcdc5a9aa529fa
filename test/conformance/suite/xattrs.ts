import { describe, expect } from 'vitest';
import { type Ctx, caught, expectErrno } from './context.js';

interface XattrFs {
  getxattrSync(path: string, name: string, options?: { encoding?: BufferEncoding; follow?: boolean }): Buffer | string;
  setxattrSync(path: string, name: string, value: string | Uint8Array, options?: { flag?: 'create' | 'replace'; follow?: boolean }): void;
  listxattrSync(path: string, options?: { follow?: boolean }): string[];
  removexattrSync(path: string, name: string, options?: { follow?: boolean }): void;
}

/** Extended attributes, through the extra API (Node has none, so the node:fs target skips). */
export function xattrs(ctx: Ctx): void {
  const { p } = ctx;
  const test = ctx.test('xattr');
  describe('extended attributes', () => {
    test('set, get, list, remove, and their errors', () => {
      const fs = ctx.fs as unknown as XattrFs;
      fs.setxattrSync(p('/file.txt'), 'user.origin', 'fixture');
      expect(fs.getxattrSync(p('/file.txt'), 'user.origin', { encoding: 'utf8' })).toBe('fixture');
      expect(fs.listxattrSync(p('/link-to-file'))).toEqual(['user.origin']);
      expect(fs.listxattrSync(p('/link-to-file'), { follow: false })).toEqual([]);
      expectErrno(caught(() => fs.setxattrSync(p('/file.txt'), 'user.origin', 'x', { flag: 'create' })), { code: 'EEXIST', syscall: 'setxattr', path: p('/file.txt') });
      fs.removexattrSync(p('/file.txt'), 'user.origin');
      expectErrno(caught(() => fs.getxattrSync(p('/file.txt'), 'user.origin')), { code: 'ENODATA', syscall: 'getxattr', path: p('/file.txt') });
    });
  });
}
