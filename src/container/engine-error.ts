/**
 * What an Engine refuses or cannot do, in words a user can act on: the message says what went
 * wrong and, where there is one, what to do instead. `code` lets a caller branch without parsing
 * the message (the CLI maps every EngineError to exit code 1).
 */
export type EngineErrorCode =
  /** No image or container of that name. */
  | 'ENOENT'
  /** The name is taken. */
  | 'EEXIST'
  /** Another live process holds the lock. */
  | 'EBUSY'
  /** Bad name or argument. */
  | 'EINVAL'
  /** Metadata or blobs are damaged. */
  | 'EIO'
  /** Refused: something depends on what would be removed. */
  | 'ENOTEMPTY';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME = 128;

/** Image and container names become file names: letters, digits, `_.-`, not starting with `.` or `-`. */
export function checkName(kind: 'image' | 'container', name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > MAX_NAME) {
    throw new EngineError(
      'EINVAL',
      `invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit (at most ${MAX_NAME} characters)`,
    );
  }
}
