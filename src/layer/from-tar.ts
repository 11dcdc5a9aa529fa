import { ErrnoError } from '../errno.js';
// The tar module itself, not image/index.js: image will import layer, and must not loop back.
import { type ReadTarOptions, TarError, type TarHeader, type TarSource, readTar } from '../image/tar.js';
import { type BlobStore, type Content, ContentWriter, DEFAULT_CHUNK_SIZE } from '../store/index.js';
import { LayerBuilder, type LayerBuilderOptions } from './builder.js';
import { makedev } from './dev.js';
import type { Meta } from './inode.js';
import type { Layer } from './layer.js';

export interface FromTarOptions extends LayerBuilderOptions, ReadTarOptions {
  /** Called after each member, for progress reporting. */
  onEntry?: (path: string, bytes: number) => void;
}

/**
 * Builds a layer from a plain tar archive: regular files (chunked as they stream), directories,
 * symlinks, hard links to earlier members, devices and fifos; a later member replaces an earlier
 * one, as extraction would. Member names are taken as GNU tar does: leading `/` and `.`
 * components dropped; a name that climbs out of the root with `..` is an error, and so is an
 * absolute name with `..` anywhere. `.wh.` names are ordinary names here: whiteouts are an OCI
 * convention that image import translates. Times missing from the archive (atime, ctime) are
 * taken from mtime.
 */
export async function layerFromTar(store: BlobStore, source: TarSource, options: FromTarOptions = {}): Promise<Layer> {
  const builder = new LayerBuilder(store, options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  for await (const { header, body } of readTar(source, options)) {
    const path = memberPath(header.path, header);
    const meta = metaOf(header);
    try {
      switch (header.type) {
        case 'file': {
          const writer = new ContentWriter(store, chunkSize);
          for await (const bytes of body) writer.write(bytes);
          builder.file(path, writer.finish() satisfies Content, meta);
          break;
        }
        case 'dir':
          builder.dir(path, meta);
          break;
        case 'symlink':
          builder.symlink(path, header.linkpath, meta);
          break;
        case 'link':
          builder.link(path, memberPath(header.linkpath, header));
          break;
        case 'chardev':
        case 'blockdev':
          builder.device(path, header.type, makedev(header.devmajor, header.devminor), meta);
          break;
        case 'fifo':
          builder.special(path, 'fifo', meta);
          break;
        default:
          throw new TarError(`unsupported member type ${JSON.stringify(header.typeflag)} for ${JSON.stringify(header.path)}`, header.offset);
      }
    } catch (error) {
      if (!(error instanceof ErrnoError)) throw error;
      const what = header.type === 'link' ? `hard link ${JSON.stringify(header.path)} -> ${JSON.stringify(header.linkpath)}` : JSON.stringify(header.path);
      throw new TarError(`cannot add ${what}: ${error.message}`, header.offset, { cause: error });
    }
    options.onEntry?.(path, header.type === 'file' ? header.size : 0);
  }
  return builder.build();
}

/** The layer path of a member name, or a TarError when it would leave the root. */
export function memberPath(name: string, header: Pick<TarHeader, 'offset'>): string {
  const absolute = name.startsWith('/');
  const names: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (absolute || names.length === 0) throw new TarError(`member name ${JSON.stringify(name)} escapes the root with '..'`, header.offset);
      names.pop();
    } else {
      names.push(part);
    }
  }
  return `/${names.join('/')}`;
}

function metaOf(header: TarHeader): Partial<Meta> {
  return {
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    mtime: header.mtime,
    atime: header.atime ?? header.mtime,
    ctime: header.ctime ?? header.mtime,
    xattrs: header.xattrs,
  };
}
