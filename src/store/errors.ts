import type { Digest } from './digest.js';

export type BlobFault = 'missing' | 'corrupt';

/**
 * A store fault: a blob that is gone or whose bytes no longer match its digest. The union turns it
 * into EIO (with this as `cause`) so callers never receive wrong bytes.
 */
export class BlobError extends Error {
  constructor(
    readonly digest: Digest,
    readonly fault: BlobFault,
    options?: { cause?: unknown },
  ) {
    super(`blob ${digest} is ${fault}`, options);
    this.name = 'BlobError';
  }
}
