/**
 * layerfs/testing: one base image per suite, one fresh container fs per test.
 *
 * Build the fixture once (from a LayerSpec, a directory on disk, or a memfs volume), then call
 * `fixture.fs()` in each test: a new container over the shared image, ready in microseconds,
 * whose changes no other test sees. Tests can run concurrently (vitest's it.concurrent): each
 * mutates its own upper layer while the image stays shared and untouched.
 *
 *   const fixture = await fixtureFrom({ '/app/config.json': '{}' });
 *   it.concurrent('writes', () => { const fs = fixture.fs(); fs.writeFileSync('/app/x', '1'); });
 */
import * as nodeFs from 'node:fs';
import { Container } from './container/index.js';
import { type LayerFsApi, type LayerFsOptions, createFs } from './fs/index.js';
import { type Layer, type LayerSpec, type ReadableFs, layerFromFs, layerFromSpec } from './layer/index.js';
import { type BlobStore, MemoryBlobStore } from './store/index.js';
import { Image } from './union/index.js';

export interface FixtureOptions {
  /** Where the image's blobs live (default: a new MemoryBlobStore). */
  store?: BlobStore;
  /** Chunk size of the fixture's files and of files created in its containers. */
  chunkSize?: number;
}

/** A base image built once and handed out as fresh containers. */
export class Fixture {
  readonly image: Image;
  readonly store: BlobStore;
  private readonly chunkSize: number | undefined;

  constructor(image: Image, store: BlobStore, options: FixtureOptions = {}) {
    this.image = image;
    this.store = store;
    this.chunkSize = options.chunkSize;
  }

  /** A new container over the image: private, writable, empty upper layer. */
  container(): Container {
    return new Container(this.image, this.store, this.chunkSize === undefined ? {} : { chunkSize: this.chunkSize });
  }

  /** A Node fs over a new container: what one test gets. */
  fs(options?: LayerFsOptions): LayerFsApi {
    return createFs(this.container(), options);
  }

  /** A read-only fs over the image itself: every write answers EROFS. */
  readOnlyFs(options?: LayerFsOptions): LayerFsApi {
    return createFs(Container.view(this.image, this.store), options);
  }

  /** A fixture whose base is this image plus one more layer (a per-suite variation). */
  with(spec: LayerSpec): Fixture {
    const layer = layerFromSpec(this.store, spec, this.chunkSize === undefined ? {} : { chunkSize: this.chunkSize });
    return new Fixture(new Image([...this.image.layers, layer]), this.store, { chunkSize: this.chunkSize });
  }
}

/**
 * A fixture from layer specs (bottom first) or ready layers. A spec maps paths to entries: a
 * string or bytes is a file; `{ kind: 'dir' | 'symlink' | 'link' | ... }` the rest (see LayerSpec).
 */
export async function fixtureFrom(source: LayerSpec | readonly (LayerSpec | Layer)[], options: FixtureOptions = {}): Promise<Fixture> {
  return fixtureFromSync(source, options);
}

export function fixtureFromSync(source: LayerSpec | readonly (LayerSpec | Layer)[], options: FixtureOptions = {}): Fixture {
  const store = options.store ?? new MemoryBlobStore();
  const builder = options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize };
  const sources = Array.isArray(source) ? source : [source as LayerSpec];
  const layers = sources.map((item: LayerSpec | Layer) => (isLayer(item) ? item : layerFromSpec(store, item, builder)));
  return new Fixture(new Image(layers), store, options);
}

/**
 * A fixture from a directory of any node:fs-like filesystem: a fixture folder on disk (the
 * default, node:fs) or a memfs volume (`fixtureFromFs('/', vol)`). Modes, times, symlinks and
 * hard links are kept.
 */
export async function fixtureFromFs(root: string, fs: ReadableFs = nodeFs as unknown as ReadableFs, options: FixtureOptions = {}): Promise<Fixture> {
  const store = options.store ?? new MemoryBlobStore();
  const layer = layerFromFs(store, fs, root, options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize });
  return new Fixture(new Image([layer]), store, options);
}

function isLayer(value: LayerSpec | Layer): value is Layer {
  return typeof (value as Layer).inode === 'function' && typeof (value as Layer).id === 'string';
}

export { createFs, type LayerFsApi } from './fs/index.js';
