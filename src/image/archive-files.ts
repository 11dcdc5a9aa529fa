import * as posix from 'node:path/posix';
import type { BlobStore } from '../store/index.js';
import { ImageError } from './errors.js';
import { type ImageFiles, imagePath } from './image-files.js';
import { type LayerBlob, type LayerImportOptions, importLayer } from './layer-import.js';
import { TarError, type TarSource, readTar } from './tar.js';

/** Members up to this size are kept in memory: JSON, and layers small enough to import later. */
const SMALL_MEMBER = 4 * 1024 * 1024;
/** All kept members together; past it, members are imported as layers as they pass. */
const KEPT_BUDGET = 64 * 1024 * 1024;
const MAX_LINKS = 16;

/**
 * An image archive (a `docker save` tarball, or a tar of an OCI layout) read in one pass, in
 * whatever order its members come (docker writes manifest.json last): small members are kept,
 * larger ones are imported as layers while they stream past, since nothing else in an image is
 * that large. A member that fails to import is only an error if the image turns out to use it.
 * Memory stays bounded (KEPT_BUDGET plus one layer's import) and nothing is extracted to disk.
 */
export class ArchiveFiles implements ImageFiles {
  readonly name: string;
  private readonly kept = new Map<string, Uint8Array>();
  private readonly imported = new Map<string, LayerBlob | { failed: unknown }>();
  private readonly links = new Map<string, string>();
  private readonly later = new Map<string, Promise<LayerBlob>>();
  private readonly sizes = new Map<string, number>();

  private constructor(
    private readonly store: BlobStore,
    name: string,
  ) {
    this.name = name;
  }

  static async scan(store: BlobStore, source: TarSource, name: string, options: LayerImportOptions): Promise<ArchiveFiles> {
    const files = new ArchiveFiles(store, name);
    let keptBytes = 0;
    try {
      for await (const { header, body } of readTar(source, { maxExtensionSize: options.maxExtensionSize })) {
        options.signal?.throwIfAborted();
        const member = imagePath(header.path, name);
        // A later member of the same name replaces an earlier one, as extraction would.
        files.forget(member);
        if (header.type === 'symlink') {
          // An absolute target stays absolute, so resolving it fails (imagePath refuses it).
          files.links.set(member, header.linkpath.startsWith('/') ? header.linkpath : posix.join(posix.dirname(member), header.linkpath));
        } else if (header.type === 'link') {
          files.links.set(member, header.linkpath);
        } else if (header.type === 'file' && header.size <= SMALL_MEMBER && keptBytes + header.size <= KEPT_BUDGET) {
          const parts: Uint8Array[] = [];
          for await (const chunk of body) parts.push(chunk.slice());
          files.kept.set(member, Buffer.concat(parts));
          keptBytes += header.size;
        } else if (header.type === 'file') {
          files.sizes.set(member, header.size);
          try {
            files.imported.set(member, await importLayer(store, body, { ...options, name: `${name}: ${member}` }));
          } catch (error) {
            // A truncated archive shows again when readTar skips the rest of the member.
            if (options.signal?.aborted) throw error;
            files.imported.set(member, { failed: error });
          }
        }
      }
    } catch (error) {
      if (error instanceof TarError) throw new ImageError('EFORMAT', `${name} is not a readable image archive: ${error.message}`, { cause: error });
      throw error;
    }
    return files;
  }

  private forget(member: string): void {
    this.kept.delete(member);
    this.imported.delete(member);
    this.links.delete(member);
  }

  /** The member a path names after following the archive's own links (inside the archive only). */
  private resolve(file: string): string {
    let member = imagePath(file, this.name);
    for (let hops = 0; this.links.has(member); hops++) {
      if (hops === MAX_LINKS) throw new ImageError('EFORMAT', `${this.name}: too many links resolving ${file}`);
      member = imagePath(this.links.get(member)!, this.name);
    }
    return member;
  }

  async read(file: string, max: number): Promise<Uint8Array | undefined> {
    const member = this.resolve(file);
    const bytes = this.kept.get(member);
    if (bytes) {
      if (bytes.length > max) throw new ImageError('ELIMIT', `${this.name}: ${member} has ${bytes.length} bytes, more than the ${max} allowed`);
      return bytes;
    }
    if (this.imported.has(member)) {
      const why = this.sizes.get(member)! > SMALL_MEMBER ? `is larger than ${SMALL_MEMBER} bytes, too large for an image's JSON` : `came after ${KEPT_BUDGET} bytes of other small members`;
      throw new ImageError('ELIMIT', `${this.name}: ${member} ${why}`);
    }
    return undefined;
  }

  layer(file: string, options: LayerImportOptions): Promise<LayerBlob> {
    const member = this.resolve(file);
    const imported = this.imported.get(member);
    if (imported) return 'failed' in imported ? Promise.reject(imported.failed) : Promise.resolve(imported);
    let known = this.later.get(member);
    if (!known) {
      const bytes = this.kept.get(member);
      known = bytes ? importLayer(this.store, bytes, options) : Promise.reject(new ImageError('ENOENT', `${this.name}: layer file ${member} is missing`));
      this.later.set(member, known);
    }
    return known;
  }
}
