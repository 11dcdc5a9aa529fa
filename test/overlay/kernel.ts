import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerSpec } from '../../src/index.js';
import type { Op, Outcome } from '../model/ops.js';

/** Why kernel overlayfs cannot be used here, or undefined. */
export function kernelOverlayUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'kernel overlayfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting kernel overlayfs needs root';
  if (!/\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) return 'this kernel has no overlayfs';
  return undefined;
}

/** Writes a layer spec as an overlayfs lower directory, whiteouts as 0/0 character devices. */
function writeLowerDir(root: string, spec: LayerSpec): void {
  for (const [entryPath, entry] of Object.entries(spec)) {
    const target = path.join(root, entryPath);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    if (typeof entry === 'string' || entry instanceof Uint8Array) {
      fs.writeFileSync(target, entry, { mode: 0o644 });
    } else if (entry.kind === 'whiteout') {
      execFileSync('mknod', [target, 'c', '0', '0']);
    } else if (entry.kind === 'dir') {
      if (entry.opaque) throw new Error('kernel fixture has no opaque directories yet');
      fs.mkdirSync(target, { recursive: true, mode: 0o755 });
    } else {
      throw new Error(`kernel fixture cannot hold ${entry.kind}`);
    }
  }
}

/** A kernel overlay mount of layer specs (bottom first), with redirect_dir so directories rename. */
export class KernelOverlay {
  readonly root: string;
  readonly merged: string;

  constructor(layers: LayerSpec[]) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-kovl-'));
    const lowers = layers.map((spec, index) => {
      const dir = path.join(this.root, `l${index}`);
      fs.mkdirSync(dir);
      writeLowerDir(dir, spec);
      return dir;
    });
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((name) => path.join(this.root, name)) as [string, string, string];
    for (const dir of [upper, work, merged]) fs.mkdirSync(dir);
    const options = `lowerdir=${lowers.reverse().join(':')},upperdir=${upper},workdir=${work},redirect_dir=on,index=on`;
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options, merged]);
    this.merged = merged;
  }

  close(): void {
    execFileSync('umount', [this.merged]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private at(p: string): string {
    return path.join(this.merged, p);
  }

  apply(step: Op): Outcome {
    try {
      switch (step.op) {
        case 'write':
          fs.writeFileSync(this.at(step.path), step.data, { mode: 0o666 });
          break;
        case 'pwrite': {
          const fd = fs.openSync(this.at(step.path), 'r+');
          try {
            fs.writeSync(fd, Buffer.from(step.data), 0, Buffer.byteLength(step.data), step.position);
          } finally {
            fs.closeSync(fd);
          }
          break;
        }
        case 'truncate':
          fs.truncateSync(this.at(step.path), step.size);
          break;
        case 'mkdir':
          fs.mkdirSync(this.at(step.path), 0o755);
          break;
        case 'unlink':
          fs.unlinkSync(this.at(step.path));
          break;
        case 'rmdir':
          fs.rmdirSync(this.at(step.path));
          break;
        case 'rename':
          fs.renameSync(this.at(step.from), this.at(step.to));
          break;
        case 'chmod':
          fs.chmodSync(this.at(step.path), step.mode);
          break;
        case 'symlink':
          fs.symlinkSync(step.target, this.at(step.path));
          break;
        case 'link':
          fs.linkSync(this.at(step.from), this.at(step.to));
          break;
        case 'commit':
        case 'fork':
          break;
      }
      return 'ok';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code !== 'string') throw error;
      return code;
    }
  }
}
