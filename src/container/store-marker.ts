import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../durable-file.js';
import { EngineError } from './engine-error.js';

const FORMAT = 1;
const MARKER = 'layerfs.json';

/**
 * Makes sure `root` is a store: creates the marker (`layerfs.json`, `{ format }`) in a new or
 * empty folder; refuses a folder that holds something else, so a mistyped --store never
 * scatters store folders among a user's files.
 */
export function prepareStoreDir(root: string, durable: boolean): void {
  const marker = path.join(root, MARKER);
  for (;;) {
    let text: string;
    try {
      text = fs.readFileSync(marker, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(root, { recursive: true });
      const entries = fs.readdirSync(root).filter((name) => !name.startsWith('.'));
      // Another process is creating the store right now: its marker comes before anything else.
      if (entries.includes(MARKER)) continue;
      if (entries.length > 0) {
        throw new EngineError('EINVAL', `${root} is not a layerfs store (it has no ${MARKER} and is not empty); choose a new or empty directory`);
      }
      writeFileAtomic(marker, `${JSON.stringify({ format: FORMAT })}\n`, { durable });
      return;
    }
    let format: unknown;
    try {
      format = (JSON.parse(text) as { format?: unknown }).format;
    } catch (error) {
      throw new EngineError('EIO', `${marker} is damaged; restore it ({"format": ${FORMAT}})`, { cause: error });
    }
    if (format !== FORMAT) throw new EngineError('EINVAL', `${root} is a layerfs store of format ${String(format)}; this layerfs reads format ${FORMAT}`);
    return;
  }
}
