import { ErrnoError } from '../errno.js';
import { type Layer, LayerBuilder, type LayerBuilderOptions, type Meta, PATH_MAX, makedev } from '../layer/index.js';
import { type BlobStore, type Content, ContentWriter, DEFAULT_CHUNK_SIZE } from '../store/index.js';
import { type ReadTarOptions, TarError, type TarHeader, type TarSource, readTar } from './tar.js';

/**
 * What a member means when its name is not just a path. Image import gives OCI whiteout names
 * (`.wh.NAME`, `.wh..wh..opq`) their meaning through this; the layer folder knows no such names.
 */
export type MemberRole =
  /** Hides `path` in lower layers; whatever this archive puts at `path` stays. */
  | { kind: 'whiteout'; path: string }
  /** Makes the directory `path` opaque (created if absent); its own entries stay. */
  | { kind: 'opaque'; path: string }
  /** Not part of the tree (metadata of another tool). */
  | { kind: 'skip' };

export interface FromTarOptions extends LayerBuilderOptions, ReadTarOptions {
  /** Called after each member, for progress reporting. */
  onEntry?: (path: string, bytes: number) => void;
  /** Gives a member a role other than a plain entry (see MemberRole); may throw a TarError. */
  roleOf?: (path: string, header: TarHeader) => MemberRole | undefined;
  /** Checked before each member: an aborted import stops with the signal's reason. */
  signal?: AbortSignal;
  /** Told the directories no member gave metadata for (see LayerBuilder.implicitDirs). */
  onImplicitDirs?: (paths: string[]) => void;
}

/**
 * Builds a layer from a plain tar archive: regular files (chunked as they stream), directories,
 * symlinks, hard links to earlier members, devices and fifos. Member names are taken as GNU tar
 * does: leading `/` and `.` components dropped; a name that climbs out of the root with `..` is
 * an error, and so is an absolute name with `..` anywhere.
 *
 * Duplicates: a later member replaces an earlier one, as extraction (and docker) would; a
 * directory member over a directory only updates its metadata. A member below an earlier
 * non-directory (`a -> /etc` then `a/passwd`) is an error: extraction would write through the
 * symlink, and replacing it silently would change the tree. `.wh.` names are ordinary names here:
 * whiteouts are an OCI convention that image import gives meaning through `roleOf`. Times missing
 * from the archive (atime, ctime) are taken from mtime.
 */
export async function layerFromTar(store: BlobStore, source: TarSource, options: FromTarOptions = {}): Promise<Layer> {
  const builder = new LayerBuilder(store, options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  for await (const { header, body } of readTar(source, options)) {
    options.signal?.throwIfAborted();
    const path = memberPath(header.path, header);
    checkXattrs(header);
    const meta = metaOf(header);
    try {
      const role = options.roleOf?.(path, header);
      if (role?.kind === 'skip') continue;
      const target = role?.kind === 'whiteout' || role?.kind === 'opaque' ? role.path : path;
      const blocker = builder.nonDirectoryAbove(target);
      if (blocker) {
        const what = blocker.kind === 'symlink' ? 'symlink' : `${blocker.kind === 'file' ? 'regular file' : blocker.kind}`;
        throw new TarError(`member ${JSON.stringify(header.path)} goes through ${what} ${JSON.stringify(blocker.path)} set earlier in the archive`, header.offset);
      }
      if (role?.kind === 'whiteout') {
        // A whiteout hides lower layers only: a directory of this archive at the path stays, and
        // turns opaque; a non-directory already hides what is below.
        const existing = builder.kindAt(role.path);
        if (existing === 'dir') builder.dir(role.path, undefined, { opaque: true });
        else if (existing === undefined) builder.whiteout(role.path);
        continue;
      }
      if (role?.kind === 'opaque') {
        builder.dir(role.path, undefined, { opaque: true });
        continue;
      }
      switch (header.type) {
        case 'file': {
          const writer = new ContentWriter(store, chunkSize);
          try {
            for await (const bytes of body) writer.write(bytes);
          } catch (error) {
            writer.abort();
            throw error;
          }
          builder.file(path, writer.finish() satisfies Content, meta);
          break;
        }
        case 'dir':
          builder.dir(path, meta);
          break;
        case 'symlink':
          checkTarget(header);
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
  options.onImplicitDirs?.(builder.implicitDirs());
  return builder.build();
}

/**
 * The layer path of a member name, or a TarError when it would leave the root or is longer than
 * a path can be (PATH_MAX): a deeper tree would only be a way to exhaust the stack.
 */
export function memberPath(name: string, header: Pick<TarHeader, 'offset'>): string {
  if (Buffer.byteLength(name) >= PATH_MAX) throw new TarError(`member name of ${Buffer.byteLength(name)} bytes is longer than PATH_MAX (${PATH_MAX})`, header.offset);
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

/** A symlink target is any bytes but NUL, shorter than PATH_MAX (as symlink(2) takes it). */
function checkTarget(header: TarHeader): void {
  const length = Buffer.byteLength(header.linkpath);
  if (length >= PATH_MAX) throw new TarError(`symlink ${JSON.stringify(header.path)} has a target of ${length} bytes, longer than PATH_MAX (${PATH_MAX})`, header.offset);
  if (header.linkpath.includes('\0')) throw new TarError(`symlink ${JSON.stringify(header.path)} has a target containing NUL`, header.offset);
  if (length === 0) throw new TarError(`symlink ${JSON.stringify(header.path)} has an empty target`, header.offset);
}

/** Names and values Linux could hold (XATTR_NAME_MAX, XATTR_SIZE_MAX), so an export can set them again. */
function checkXattrs(header: TarHeader): void {
  for (const [name, value] of header.xattrs) {
    const problem = name === '' ? 'an empty name' : name.includes('\0') ? 'a name containing NUL' : Buffer.byteLength(name) > 255 ? 'a name longer than 255 bytes' : value.length > 65536 ? 'a value larger than 64 KiB' : undefined;
    if (problem) throw new TarError(`member ${JSON.stringify(header.path)} has an extended attribute with ${problem}`, header.offset);
  }
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
