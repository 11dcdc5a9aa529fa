import { invalidArgType } from './errors.js';

/** Node's AbortError: what a call whose AbortSignal fired rejects with (code ABORT_ERR). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(cause?: unknown) {
    super('The operation was aborted', cause === undefined ? undefined : { cause });
    this.name = 'AbortError';
  }
}

/** The AbortSignal in an options argument (ERR_INVALID_ARG_TYPE for anything else). */
export function signalIn(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== 'object' || !('signal' in options)) return undefined;
  const { signal } = options as { signal: unknown };
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  return signal;
}

/**
 * Throws AbortError if the signal fired. The sync core does a whole read at once, so the async
 * forms check before the call and again before they deliver: a signal fired in between (the same
 * turn, as Node's chunked read would still be running) still cancels the result.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
