import * as nodePath from 'node:path';
import { type BlobStore, type Content, ContentWriter, DEFAULT_CHUNK_SIZE } from '../store/index.js';
import { LayerBuilder, type LayerBuilderOptions } from './builder.js';
import type { Inode, Meta } from './inode.js';
import type { Layer } from './layer.js';

interface StatLike {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  atimeNs?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/** The part of node:fs a layer is read from: node:fs itself, or a memfs volume. */
export interface ReadableFs {
  lstatSync(path: string, options: { bigint: true }): unknown;
  readdirSync(path: string): unknown[];
  readlinkSync(path: string): unknown;
  openSync(path: string, flags: string): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
}

export interface FromFsOptions extends LayerBuilderOptions {
  /** Called after each entry, for progress reporting. */
  onEntry?: (path: string, bytes: number) => void;
}

const S_IFMT = 0o170000n;
const TYPES = new Map<bigint, Inode['kind']>([
  [0o100000n, 'file'],
  [0o040000n, 'dir'],
  [0o120000n, 'symlink'],
  [0o020000n, 'chardev'],
  [0o060000n, 'blockdev'],
  [0o010000n, 'fifo'],
  [0o140000n, 'socket'],
]);

/**
 * Builds a layer from a directory of an fs (node:fs or memfs): modes, owners, nanosecond times,
 * symlinks, hard links (by device and inode number), devices, fifos and sockets. Extended
 * attributes are not read: Node's fs has no API for them.
 */
export function layerFromFs(store: BlobStore, fs: ReadableFs, root: string, options: FromFsOptions = {}): Layer {
  const builder = new LayerBuilder(store, options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const linked = new Map<string, string>();
  const visit = (hostPath: string, layerPath: string): void => {
    const stat = fs.lstatSync(hostPath, { bigint: true }) as StatLike;
    const kind = TYPES.get(stat.mode & S_IFMT);
    if (!kind) throw new Error(`unknown file type at ${hostPath}`);
    const meta = metaOf(stat);
    if (kind === 'dir') {
      builder.dir(layerPath, meta);
      for (const name of (fs.readdirSync(hostPath) as string[]).map(String).sort()) {
        visit(nodePath.posix.join(hostPath, name), nodePath.posix.join(layerPath, name));
      }
      options.onEntry?.(layerPath, 0);
      return;
    }
    const identity = `${stat.dev}:${stat.ino}`;
    const first = stat.nlink > 1n ? linked.get(identity) : undefined;
    if (first !== undefined) {
      builder.link(layerPath, first);
      options.onEntry?.(layerPath, 0);
      return;
    }
    if (stat.nlink > 1n) linked.set(identity, layerPath);
    if (kind === 'file') {
      builder.file(layerPath, readContent(store, fs, hostPath, Number(stat.size), chunkSize), meta);
    } else if (kind === 'symlink') {
      builder.symlink(layerPath, String(fs.readlinkSync(hostPath)), meta);
    } else if (kind === 'chardev' || kind === 'blockdev') {
      builder.device(layerPath, kind, Number(stat.rdev), meta);
    } else {
      builder.special(layerPath, kind, meta);
    }
    options.onEntry?.(layerPath, kind === 'file' ? Number(stat.size) : 0);
  };
  visit(root, '/');
  return builder.build();
}

function metaOf(stat: StatLike): Partial<Meta> {
  const ns = (exact: bigint | undefined, ms: bigint) => exact ?? ms * 1_000_000n;
  return {
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    atime: ns(stat.atimeNs, stat.atimeMs),
    mtime: ns(stat.mtimeNs, stat.mtimeMs),
    ctime: ns(stat.ctimeNs, stat.ctimeMs),
  };
}

/** Reads a file chunk by chunk, so a large file never sits in memory whole. */
function readContent(store: BlobStore, fs: ReadableFs, path: string, size: number, chunkSize: number): Content {
  const writer = new ContentWriter(store, chunkSize);
  const buffer = new Uint8Array(chunkSize);
  const fd = fs.openSync(path, 'r');
  try {
    let total = 0;
    for (;;) {
      let filled = 0;
      while (filled < chunkSize) {
        const read = fs.readSync(fd, buffer, filled, chunkSize - filled, total + filled);
        if (read === 0) break;
        filled += read;
      }
      if (filled === 0) break;
      writer.write(buffer.subarray(0, filled));
      total += filled;
      if (filled < chunkSize) break;
    }
    if (total !== size) throw new Error(`${path} changed size while it was read (${size} -> ${total} bytes)`);
    return writer.finish();
  } catch (error) {
    writer.abort();
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}
