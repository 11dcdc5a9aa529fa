/**
 * Writes layer encodings by hand with ByteWriter, following the format documented in
 * src/layer/encode.ts, so tests can make bytes the encoder would never produce.
 */
import { ByteWriter } from '../../src/layer/codec.js';

export const KIND = { file: 0, dir: 1, symlink: 2, chardev: 3, blockdev: 4, fifo: 5, socket: 6 } as const;

export interface CraftMeta {
  mode?: number;
  uid?: number;
  gid?: number;
  times?: [bigint, bigint, bigint];
  xattrs?: [string, Uint8Array][];
}

export type CraftBody = (out: ByteWriter) => void;

export interface CraftInode {
  kind: number;
  meta?: CraftMeta;
  body?: CraftBody;
}

export function craftLayer(inodes: CraftInode[], header: { magic?: string; version?: number; count?: number } = {}): Uint8Array {
  const out = new ByteWriter();
  out.bytes(Buffer.from(header.magic ?? 'LFSL'));
  out.byte(header.version ?? 1);
  out.uint(header.count ?? inodes.length);
  for (const inode of inodes) {
    out.byte(inode.kind);
    const meta = inode.meta ?? {};
    out.uint(meta.mode ?? (inode.kind === KIND.dir ? 0o755 : 0o644));
    out.uint(meta.uid ?? 0);
    out.uint(meta.gid ?? 0);
    for (const time of meta.times ?? [0n, 0n, 0n]) out.bigint(time);
    out.uint(meta.xattrs?.length ?? 0);
    for (const [name, value] of meta.xattrs ?? []) {
      out.string(name);
      out.blob(value);
    }
    inode.body?.(out);
  }
  return out.finish();
}

/** A directory body; names are written as given (strings as UTF-8, or raw bytes). */
export function dir(children: [string | Uint8Array, number][], opaque = 0): CraftInode {
  return {
    kind: KIND.dir,
    body: (out) => {
      out.byte(opaque);
      out.uint(children.length);
      for (const [name, ino] of children) {
        if (typeof name === 'string') out.string(name);
        else out.blob(name);
        out.uint(ino);
      }
    },
  };
}

/** An empty regular file. */
export function emptyFile(meta?: CraftMeta): CraftInode {
  return {
    kind: KIND.file,
    ...(meta ? { meta } : {}),
    body: (out) => {
      out.uint(0);
      out.uint(65536);
    },
  };
}
