import { Container, Image, type LayerSpec, MemoryBlobStore, layerFromSpec } from '../../src/index.js';

/** An image built from layer specs, bottom first, over a fresh memory store. */
export function imageOf(...specs: LayerSpec[]) {
  const store = new MemoryBlobStore();
  const image = new Image(specs.map((spec) => layerFromSpec(store, spec)));
  return { store, image, container: () => new Container(image, store) };
}

export function text(container: Container, path: string): string {
  return Buffer.from(container.readAll(container.resolve(path))).toString();
}

export function names(container: Container, path: string): string[] {
  return container.readdir(container.resolve(path)).map((entry) => entry.name);
}

/** Replaces a file's content, creating it when missing (writeFile). */
export function writeText(container: Container, path: string, data: string): void {
  const ino = container.exists(path) ? container.resolve(path) : container.createFile(path);
  container.truncate(ino, 0);
  container.write(ino, 0, Buffer.from(data));
}

/** Every path of the view with a short description, for comparing whole trees. */
export function tree(container: Container, dir = '/'): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (ino: number, prefix: string) => {
    for (const entry of container.readdir(ino)) {
      const path = `${prefix}/${entry.name}`;
      const stat = container.stat(entry.ino);
      const mode = (stat.mode & 0o7777).toString(8);
      if (entry.kind === 'file') out[path] = `file ${mode} ${Buffer.from(container.readAll(entry.ino)).toString()}`;
      else if (entry.kind === 'symlink') out[path] = `symlink -> ${container.readlink(entry.ino)}`;
      else out[path] = `${entry.kind} ${mode}`;
      if (entry.kind === 'dir') visit(entry.ino, path);
    }
  };
  visit(container.resolve(dir), dir === '/' ? '' : dir);
  return out;
}
