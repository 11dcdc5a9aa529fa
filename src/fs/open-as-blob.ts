import { toPath } from './args.js';
import { ArgumentError, invalidArgType } from './errors.js';
import type { LayerFs } from './fs.js';

/**
 * fs.openAsBlob: a Blob of the file's content. Node's Blob reads the file when it is read and fails
 * if the file changed; this one holds the content as it was at the call. Like Node 20, a path that
 * cannot be opened throws at once (ERR_INVALID_ARG_VALUE), and a directory gives a Blob that
 * cannot be read (here: a rejected promise, NotReadableError).
 */
export function openAsBlob(core: LayerFs, path: unknown, options?: { type?: unknown }): Promise<Blob> {
  const p = toPath(path);
  const type = options?.type ?? '';
  if (typeof type !== 'string') throw invalidArgType('options.type', 'of type string', type);
  if (!core.existsSync(p)) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'Unable to open file as blob');
  if (core.statSync(p)!.isDirectory()) return Promise.reject(new DOMException('The blob could not be read', 'NotReadableError'));
  return Promise.resolve(new Blob([core.readFileSync(p) as Buffer], { type }));
}
