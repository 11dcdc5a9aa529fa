import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, Image, type Layer, type MemoryBlobStore, type BlobStore } from '../../src/index.js';
import { devMajor, devMinor } from '../../src/layer/index.js';

/** Everything a stream yields, as one buffer. */
export async function bytesOf(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export interface TreeOptions {
  /** Compare directory mtimes too (extraction by hand moves them when it deletes). */
  dirTimes?: boolean;
}

function describe(kind: string, mode: number, uid: number, gid: number, mtime: bigint, extra: string, options: TreeOptions): string {
  const time = kind === 'dir' && !options.dirTimes ? '' : ` mtime=${mtime}`;
  return `${kind} ${mode.toString(8)} ${uid}:${gid}${time}${extra}`;
}

/** The merged tree of a stack of layers as path -> description (kind, mode, owner, mtime, content hash, target, device). */
export function viewTree(store: BlobStore, layers: readonly Layer[], options: TreeOptions = {}): Record<string, string> {
  const view = Container.view(new Image(layers), store);
  const out: Record<string, string> = {};
  const visit = (dir: number, prefix: string) => {
    for (const entry of view.readdir(dir)) {
      const at = `${prefix}/${entry.name}`;
      const stat = view.stat(entry.ino);
      let extra = '';
      if (entry.kind === 'file') extra = ` ${stat.size} ${createHash('sha256').update(view.readAll(entry.ino)).digest('hex').slice(0, 16)}`;
      if (entry.kind === 'symlink') extra = ` -> ${view.readlink(entry.ino)}`;
      if (entry.kind === 'chardev' || entry.kind === 'blockdev') extra = ` ${devMajor(stat.rdev)},${devMinor(stat.rdev)}`;
      out[at] = describe(entry.kind, stat.mode & 0o7777, stat.uid, stat.gid, stat.mtime, extra, options);
      if (entry.kind === 'dir') visit(entry.ino, at);
    }
  };
  visit(1, '');
  return out;
}

const KINDS: [number, string][] = [
  [0o100000, 'file'],
  [0o040000, 'dir'],
  [0o120000, 'symlink'],
  [0o020000, 'chardev'],
  [0o060000, 'blockdev'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
];

/** The same description of a host directory, for trees extracted by other tools. */
export function hostTree(root: string, options: TreeOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const stat = fs.lstatSync(full, { bigint: true });
      const kind = KINDS.find(([bits]) => (Number(stat.mode) & 0o170000) === bits)![1];
      let extra = '';
      if (kind === 'file') extra = ` ${stat.size} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex').slice(0, 16)}`;
      if (kind === 'symlink') extra = ` -> ${fs.readlinkSync(full)}`;
      if (kind === 'chardev' || kind === 'blockdev') extra = ` ${devMajor(Number(stat.rdev))},${devMinor(Number(stat.rdev))}`;
      const at = `${prefix}/${name}`;
      out[at] = describe(kind, Number(stat.mode) & 0o7777, Number(stat.uid), Number(stat.gid), stat.mtimeNs, extra, options);
      if (kind === 'dir') visit(full, at);
    }
  };
  visit(root, '');
  return out;
}

/** The blob digests a store holds. */
export function blobSet(store: MemoryBlobStore): Set<string> {
  return new Set(store.digests());
}

/** Whether a program is on the PATH (tests that need umoci or skopeo skip without it). */
export function commandExists(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
