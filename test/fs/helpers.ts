import { Container, Image, type LayerSpec, MemoryBlobStore, createFs, layerFromSpec } from '../../src/index.js';

export const BASE: LayerSpec = {
  '/etc/hosts': '127.0.0.1 localhost\n',
  '/etc/passwd': 'root:x:0:0\n',
  '/usr/bin/sh': { kind: 'file', data: 'ELF', mode: 0o755 },
  '/home/user/notes.txt': 'remember',
  '/link': { kind: 'symlink', target: '/etc/hosts' },
};

/** A container fs over an image of `specs` (bottom first), with its store and container. */
export function setup(...specs: LayerSpec[]) {
  const store = new MemoryBlobStore();
  const image = new Image((specs.length > 0 ? specs : [BASE]).map((spec) => layerFromSpec(store, spec)));
  const container = new Container(image, store);
  return { store, image, container, fs: createFs(container) };
}

/** The error thrown by `action`. */
export function thrown(action: () => unknown): Error & Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('nothing was thrown');
}
