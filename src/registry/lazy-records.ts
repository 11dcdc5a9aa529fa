import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../durable-file.js';
import type { OciDigest } from '../image/digest.js';
import type { Digest } from '../store/index.js';
import type { ChunkSpan } from './lazy-index.js';

/** Where a lazily pulled image's chunks are, and how to reach that registry again. */
export interface LazyRecord {
  image: string;
  registry: string;
  repository: string;
  scheme?: 'http' | 'https';
  caFile?: string;
  insecure?: boolean;
  layers: { blob: OciDigest; size: number; chunks: ChunkSpan[] }[];
}

/** A chunk's place: which registry blob, at which bytes; `at` indexes the layer's chunk table. */
export interface ChunkPlace {
  record: LazyRecord;
  blob: OciDigest;
  offset: number;
  length: number;
  chunks: ChunkSpan[];
  at: number;
}

/**
 * `<store>/registry/lazy/<image>.json`: one record per lazily pulled image, written before the
 * image is tagged (so a tagged lazy image always has its record) and removed by `pull --rest`
 * once every chunk is in. A record whose image was removed is ignored.
 */
export class LazyRecords {
  private readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, 'registry', 'lazy');
  }

  write(record: LazyRecord): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file(record.image), JSON.stringify(record));
  }

  get(image: string): LazyRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(image), 'utf8')) as LazyRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  all(): LazyRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((name) => name.endsWith('.json')).flatMap((name) => this.get(name.slice(0, -5)) ?? []);
  }

  remove(image: string): void {
    fs.rmSync(this.file(image), { force: true });
  }

  /** Every chunk of every record, by digest (the first place found wins). */
  places(): Map<Digest, ChunkPlace> {
    const places = new Map<Digest, ChunkPlace>();
    for (const record of this.all()) {
      for (const layer of record.layers) {
        layer.chunks.forEach(([digest, offset, length], at) => {
          if (!places.has(digest)) places.set(digest, { record, blob: layer.blob, offset, length, chunks: layer.chunks, at });
        });
      }
    }
    return places;
  }

  private file(image: string): string {
    return path.join(this.dir, `${image}.json`);
  }
}
