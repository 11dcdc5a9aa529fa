import { AbortError, signalIn, throwIfAborted } from './abort.js';
import { invalidArgType, isArgumentError } from './errors.js';
import type { Shape } from './ops.js';

type SyncCall = (...args: unknown[]) => unknown;
type Callback = (...args: unknown[]) => void;

/**
 * The callback form of a sync call: the last argument is the callback; the call runs at once
 * and its outcome is delivered on a later turn of the event loop (setImmediate), as Node's
 * thread-pool callbacks arrive. Bad arguments throw synchronously, as Node's validation does;
 * filesystem errors go to the callback.
 */
export function callbackify(run: SyncCall, shape?: Shape): (...args: unknown[]) => void {
  // A bound function, not a closure: an fs object makes one per call and should cost microseconds.
  return callbackForm.bind(null, run, shape);
}

function callbackForm(run: SyncCall, shape: Shape | undefined, ...args: unknown[]): void {
  const callback = takeCallback(args);
  const signal = shape?.signalAt === undefined ? undefined : signalIn(args[shape.signalAt]);
  let result: unknown;
  try {
    if (shape?.prepare) args = shape.prepare(args);
    throwIfAborted(signal);
    result = run(...args);
  } catch (error) {
    if (isArgumentError(error)) throw error;
    setImmediate(callback, error);
    return;
  }
  const values = shape?.callback ? shape.callback(result, args) : result === undefined ? [] : [result];
  setImmediate(deliver, callback, signal, values);
}

/** Hands the values over, unless the call's signal fired before they could be. */
function deliver(callback: Callback, signal: AbortSignal | undefined, values: unknown[]): void {
  if (signal?.aborted) callback(new AbortError(signal.reason));
  else callback(null, ...values);
}

/** fs.exists: the callback gets one boolean and never an error (Node's deprecated shape). */
export function callbackifyExists(run: (path: unknown) => boolean): (path: unknown, callback: (exists: boolean) => void) => void {
  return function exists(...args: unknown[]): void {
    const callback = takeCallback(args);
    const result = run(args[0]);
    setImmediate(callback, result);
  };
}

function takeCallback(args: unknown[]): Callback {
  const callback = args.length > 0 ? args.pop() : undefined;
  if (typeof callback !== 'function') throw invalidArgType('cb', 'of type function', args.length > 0 ? callback : undefined);
  return callback as Callback;
}
