import { ErrnoError } from '../errno.js';
import { encode, toData, toPath } from './args.js';
import { edge, invalidArgType } from './errors.js';
import { FileFs } from './files.js';

export interface XattrOptions {
  /** Follow a symlink in the last component (getxattr) or act on the link (lgetxattr). Default true. */
  follow?: boolean;
  encoding?: BufferEncoding | 'buffer';
  /** setxattr: 'create' fails with EEXIST if the attribute exists, 'replace' with ENODATA if not. */
  flag?: 'create' | 'replace';
}

/**
 * Extended attributes, which Node's fs has no API for: layerfs's own calls, shaped like
 * getxattr(2), setxattr(2), listxattr(2) and removexattr(2) (l* variants through `follow: false`),
 * with Node-style errors (`ENODATA: no data available, getxattr '/f'`).
 */
export class XattrFs extends FileFs {
  getxattrSync(path: unknown, name: unknown, options?: XattrOptions): Buffer | string {
    const key = toName(name);
    const follow = options?.follow !== false;
    const p = toPath(path);
    try {
      const value = this.view.xattrs(this.inoOf(p, follow)).get(key);
      if (value === undefined) throw new ErrnoError('ENODATA');
      return encode(Buffer.from(value), options?.encoding);
    } catch (error) {
      throw edge(error, follow ? 'getxattr' : 'lgetxattr', p);
    }
  }

  setxattrSync(path: unknown, name: unknown, value: unknown, options?: XattrOptions): void {
    const key = toName(name);
    const bytes = toData(value, options?.encoding);
    const follow = options?.follow !== false;
    this.onPath(path, follow ? 'setxattr' : 'lsetxattr', follow, (ino) => this.view.setxattr(ino, key, bytes, options?.flag));
  }

  listxattrSync(path: unknown, options?: XattrOptions): string[] {
    const follow = options?.follow !== false;
    const p = toPath(path);
    try {
      return [...this.view.xattrs(this.inoOf(p, follow)).keys()];
    } catch (error) {
      throw edge(error, follow ? 'listxattr' : 'llistxattr', p);
    }
  }

  removexattrSync(path: unknown, name: unknown, options?: XattrOptions): void {
    const key = toName(name);
    const follow = options?.follow !== false;
    this.onPath(path, follow ? 'removexattr' : 'lremovexattr', follow, (ino) => this.view.removexattr(ino, key));
  }

}

function toName(value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType('name', 'of type string', value);
  return value;
}
