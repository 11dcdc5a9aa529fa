import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayerSpec } from '../../src/index.js';

/**
 * The tree every conformance target starts from: files, nested directories, relative symlinks
 * (absolute ones would leave a host directory), a dangling link and a hard link. Given as two
 * layer specs so the in-memory target can also be built with the tree split across layers.
 */
export const LOWER: LayerSpec = {
  '/file.txt': { kind: 'file', data: 'hello world\n', mode: 0o644 },
  '/empty': { kind: 'file', data: '', mode: 0o644 },
  '/exec.sh': { kind: 'file', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
  '/dir': { kind: 'dir', mode: 0o755 },
  '/dir/a.txt': { kind: 'file', data: 'a', mode: 0o644 },
  '/dir/b.txt': { kind: 'file', data: 'bb', mode: 0o644 },
  '/hard1': { kind: 'file', data: 'shared', mode: 0o644 },
  '/hard2': { kind: 'link', target: '/hard1' },
};

export const UPPER: LayerSpec = {
  '/dir/sub': { kind: 'dir', mode: 0o755 },
  '/dir/sub/c.txt': { kind: 'file', data: 'ccc', mode: 0o644 },
  '/dir/sub/deep': { kind: 'dir', mode: 0o755 },
  '/dir/sub/deep/d.txt': { kind: 'file', data: 'dddd', mode: 0o644 },
  '/link-to-file': { kind: 'symlink', target: 'file.txt' },
  '/link-to-dir': { kind: 'symlink', target: 'dir' },
  '/dangling': { kind: 'symlink', target: 'nowhere' },
  '/loop-a': { kind: 'symlink', target: 'loop-b' },
  '/loop-b': { kind: 'symlink', target: 'loop-a' },
};

export const FIXTURE: LayerSpec = { ...LOWER, ...UPPER };

/** Writes a spec under `root` on the real filesystem (the node:fs target). */
export function writeSpec(root: string, spec: LayerSpec): void {
  const links: [string, string][] = [];
  for (const [at, entry] of Object.entries(spec)) {
    const full = path.join(root, at);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (typeof entry === 'string' || entry instanceof Uint8Array) {
      fs.writeFileSync(full, entry);
      continue;
    }
    switch (entry.kind) {
      case 'file':
        fs.writeFileSync(full, entry.data ?? '');
        if (entry.mode !== undefined) fs.chmodSync(full, entry.mode);
        break;
      case 'dir':
        fs.mkdirSync(full, { recursive: true });
        if (entry.mode !== undefined) fs.chmodSync(full, entry.mode);
        break;
      case 'symlink':
        fs.symlinkSync(entry.target, full);
        break;
      case 'link':
        links.push([full, path.join(root, entry.target)]);
        break;
      default:
        throw new Error(`the node target cannot make a ${entry.kind}`);
    }
  }
  for (const [full, target] of links) fs.linkSync(target, full);
}
