import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlobStore } from '../store/index.js';
import { ImageError } from './errors.js';
import { type LayerBlob, type LayerImportOptions, importLayer } from './layer-import.js';

/**
 * The files of an image (an OCI layout or a `docker save` archive), however they are held: a
 * folder, or a tar read once. Paths are relative to the image's root, `/`-separated, and come
 * from the image's own JSON, so each one is normalised and checked before it is used.
 */
export interface ImageFiles {
  /** What the image is, for messages (a path, or "archive"). */
  readonly name: string;
  /** A small file (JSON), or undefined when there is none; ELIMIT when larger than `max` bytes. */
  read(file: string, max: number): Promise<Uint8Array | undefined>;
  /** The layer tarball at `file`, imported once however often it is asked for. */
  layer(file: string, options: LayerImportOptions): Promise<LayerBlob>;
}

/** The path relative to the image root, or EFORMAT when it is absolute or climbs out with `..`. */
export function imagePath(file: string, where = 'image'): string {
  const names: string[] = [];
  for (const name of file.split('/')) {
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (names.length === 0) throw new ImageError('EFORMAT', `${where}: path ${JSON.stringify(file)} climbs out of the image with '..'`);
      names.pop();
    } else {
      names.push(name);
    }
  }
  if (file.startsWith('/')) throw new ImageError('EFORMAT', `${where}: path ${JSON.stringify(file)} is absolute`);
  return names.join('/');
}

/**
 * An image in a folder of the host. A symlink inside it may point anywhere inside it (docker save
 * links shared layer.tar files); one that leads out, and anything that is not a regular file
 * (a fifo, /dev/zero), is refused rather than read.
 */
export class DirFiles implements ImageFiles {
  readonly name: string;
  private readonly root: string;
  private readonly layers = new Map<string, Promise<LayerBlob>>();

  constructor(
    private readonly store: BlobStore,
    dir: string,
  ) {
    this.name = dir;
    this.root = fs.realpathSync(dir);
  }

  /** The real path of a file inside the folder, or undefined when it does not exist. */
  private locate(file: string): string | undefined {
    const relative = imagePath(file, this.name);
    let real: string;
    try {
      real = fs.realpathSync(path.join(this.root, relative));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
    if (real !== this.root && !real.startsWith(`${this.root}${path.sep}`)) {
      throw new ImageError('EFORMAT', `${this.name}: ${relative} is a symlink that leads out of the image (to ${real})`);
    }
    return real;
  }

  /** An open descriptor of a regular file, not following a last symlink (locate resolved them). */
  private open(file: string): { fd: number; size: number } | undefined {
    const real = this.locate(file);
    if (real === undefined) return undefined;
    const fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      fs.closeSync(fd);
      throw new ImageError('EFORMAT', `${this.name}: ${file} is not a regular file`);
    }
    return { fd, size: stat.size };
  }

  async read(file: string, max: number): Promise<Uint8Array | undefined> {
    const opened = this.open(file);
    if (!opened) return undefined;
    try {
      if (opened.size > max) throw new ImageError('ELIMIT', `${this.name}: ${file} has ${opened.size} bytes, more than the ${max} allowed`);
      return fs.readFileSync(opened.fd);
    } finally {
      fs.closeSync(opened.fd);
    }
  }

  layer(file: string, options: LayerImportOptions): Promise<LayerBlob> {
    const key = imagePath(file, this.name);
    let known = this.layers.get(key);
    if (!known) {
      known = (async () => {
        const opened = this.open(key);
        if (!opened) throw new ImageError('ENOENT', `${this.name}: layer file ${key} is missing`);
        const stream = fs.createReadStream('', { fd: opened.fd, highWaterMark: 1024 * 1024 });
        try {
          return await importLayer(this.store, stream, options);
        } finally {
          stream.destroy();
        }
      })();
      this.layers.set(key, known);
    }
    return known;
  }
}
