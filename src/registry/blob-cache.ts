import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../durable-file.js';
import type { OciDigest } from '../image/digest.js';
import type { LayerId } from '../layer/index.js';

/** What a pull or push learnt about one registry blob (a layer), kept beside the store. */
export interface KnownBlob {
  digest: OciDigest;
  size: number;
  mediaType: string;
  diffId: OciDigest;
  /** The layer imported from these bytes (before lower metadata) and what importLayer told. */
  imported?: { layer: LayerId; tarSize: number; compression: 'gzip' | 'none'; implicitDirs: string[] };
  /** Image layers these bytes are an export of: a push of them can skip or mount the blob. */
  layers: LayerId[];
  /** `host/repository` where a registry was seen to hold the blob (cross-repository mounts). */
  repos: string[];
}

/**
 * `<store>/registry/blobs/<hex>.json`: one small file per registry blob, so a pull never fetches
 * a layer it already imported and a push never compresses again a layer it already uploaded
 * (it asks the registry with HEAD, then mounts from another repository, before uploading).
 * A cache only: every entry is checked before use (the layer must still be in the store, the
 * registry must answer HEAD with the size), and a lost or stale file costs a transfer, not data.
 */
export class BlobCache {
  private readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, 'registry', 'blobs');
  }

  get(digest: OciDigest): KnownBlob | undefined {
    try {
      const blob = JSON.parse(fs.readFileSync(this.file(digest), 'utf8')) as KnownBlob;
      return blob.digest === digest ? blob : undefined;
    } catch {
      // Missing, or torn by a crash: as if never seen.
      return undefined;
    }
  }

  /** The blobs known to hold a layer's export. */
  forLayer(layer: LayerId): KnownBlob[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const found: KnownBlob[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const blob = this.get(`sha256:${name.slice(0, -5)}`);
      if (blob?.layers.includes(layer)) found.push(blob);
    }
    return found;
  }

  /** Merges what was learnt into the blob's entry (layers and repos are added to). */
  note(blob: Omit<KnownBlob, 'layers' | 'repos'> & Partial<Pick<KnownBlob, 'layers' | 'repos'>>): void {
    if (!blob.digest.startsWith('sha256:')) return;
    const old = this.get(blob.digest);
    const merged: KnownBlob = {
      ...old,
      ...blob,
      imported: blob.imported ?? old?.imported,
      layers: [...new Set([...(old?.layers ?? []), ...(blob.layers ?? [])])],
      repos: [...new Set([...(old?.repos ?? []), ...(blob.repos ?? [])])],
    };
    if (merged.imported === undefined) delete merged.imported;
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file(blob.digest), JSON.stringify(merged), { durable: false });
  }

  private file(digest: OciDigest): string {
    return path.join(this.dir, `${digest.slice('sha256:'.length)}.json`);
  }
}
