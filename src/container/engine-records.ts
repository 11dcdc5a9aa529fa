import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayerId } from '../layer/index.js';
import { type Digest, isDigest } from '../store/index.js';
import { removeFileDurably, writeFileAtomic } from '../durable-file.js';
import { EngineError, checkName } from './engine-error.js';

/** `<store>/images/<name>.json`: a named stack of layers. */
export interface ImageRecord {
  name: string;
  /** Bottom first. */
  layers: LayerId[];
  /** ISO 8601. */
  created: string;
}

/** `<store>/containers/<name>.json`: an image's layers plus the digest of the saved upper layer. */
export interface ContainerRecord {
  name: string;
  /** The image it was created from (by name; the layers below are its own copy of the list). */
  image: string;
  /** Kept here so a container never depends on its image's record: rmi is refused, and safe. */
  layers: LayerId[];
  /** The upper layer's blob, or null while nothing was saved. */
  upper: Digest | null;
  /** The journal of incremental saves made since `upper` (a file beside the record), if any. */
  journal?: string;
  created: string;
}

/** A journal's file name: the container's name, a random part, `.journal`. */
export const JOURNAL_FILE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*\.[0-9a-f]{16}\.journal$/;

type Kind = 'image' | 'container';

// Files whose names are not valid record names (an editor's backup, say) are not records.
const NAME_FILE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*\.json$/;

/**
 * One folder of JSON records, one file per name. Writes are atomic (see writeFileAtomic), so a
 * reader sees a whole old record or a whole new one. Callers serialise writers with the store
 * lock; reads take no lock.
 */
export class RecordFolder<T extends { name: string }> {
  constructor(
    readonly folder: string,
    private readonly kind: Kind,
    private readonly durable: boolean,
    /** Runs before a record is written: makes durable the blobs the record may name. */
    private readonly beforeWrite: () => void = () => {},
  ) {}

  /** The record's file; the name is checked first, so no name can point outside the folder. */
  fileOf(name: string): string {
    checkName(this.kind, name);
    return path.join(this.folder, `${name}.json`);
  }

  has(name: string): boolean {
    return fs.existsSync(this.fileOf(name));
  }

  names(): string[] {
    return fs
      .readdirSync(this.folder)
      .filter((file) => file.endsWith('.json') && !file.startsWith('.') && NAME_FILE.test(file))
      .map((file) => file.slice(0, -'.json'.length))
      .sort();
  }

  /** The record, or an EngineError saying the name is unknown and how to list the known ones. */
  get(name: string): T {
    let text: string;
    try {
      text = fs.readFileSync(this.fileOf(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const list = this.kind === 'image' ? 'layerfs images' : 'layerfs ps';
      throw new EngineError('ENOENT', `no ${this.kind} named ${JSON.stringify(name)} (\`${list}\` lists them)`);
    }
    return this.parse(name, text);
  }

  /** Every record; the first damaged one throws. */
  all(): T[] {
    const { records, damaged } = this.scan();
    if (damaged[0]) throw damaged[0];
    return records;
  }

  /** Every readable record, and an error for each damaged one (verify reports them). */
  scan(): { records: T[]; damaged: EngineError[] } {
    const records: T[] = [];
    const damaged: EngineError[] = [];
    for (const name of this.names()) {
      try {
        records.push(this.get(name));
      } catch (error) {
        // Removed between the listing and the read: gone, not damaged.
        if (error instanceof EngineError && error.code === 'ENOENT') continue;
        if (error instanceof EngineError) damaged.push(error);
        else throw error;
      }
    }
    return { records, damaged };
  }

  put(record: T): void {
    this.beforeWrite();
    writeFileAtomic(this.fileOf(record.name), `${JSON.stringify(record, null, 2)}\n`, { durable: this.durable });
  }

  remove(name: string): void {
    removeFileDurably(this.fileOf(name), this.durable);
  }

  private parse(name: string, text: string): T {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new EngineError('EIO', `${this.fileOf(name)} is not valid JSON; restore it or remove it`, { cause: error });
    }
    const problem = this.kind === 'image' ? imageProblem(value) : containerProblem(value);
    if (problem) throw new EngineError('EIO', `${this.fileOf(name)} is not a valid ${this.kind} record (${problem}); restore it or remove it`);
    return { ...(value as T), name };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function layersProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string' && isDigest(id))) return 'layers must be a list of digests';
  return undefined;
}

function imageProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (typeof value.created !== 'string') return 'created must be a string';
  return layersProblem(value.layers);
}

function containerProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (typeof value.image !== 'string') return 'image must be a string';
  if (typeof value.created !== 'string') return 'created must be a string';
  if (value.upper !== null && !(typeof value.upper === 'string' && isDigest(value.upper))) return 'upper must be a digest or null';
  if (value.journal !== undefined && !(typeof value.journal === 'string' && JOURNAL_FILE.test(value.journal))) return 'journal must be a journal file name';
  return layersProblem(value.layers);
}
