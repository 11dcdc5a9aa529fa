import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageRecord } from '../container/index.js';
import { type Command, requiredOption } from './command.js';
import { formatBytes, shortDigest } from './format.js';
import { Progress } from './progress.js';

export const importCommand: Command = {
  name: 'import',
  usage: 'DIR|TARBALL --tag NAME',
  summary: 'Import a directory or a tar archive as a one-layer image.',
  description: [
    'A directory keeps its modes, owners, times, symlinks, hard links, devices and fifos. A tar',
    'archive may be gzipped. Identical contents are stored once, across all images.',
    '',
    'Example: layerfs import ./rootfs --tag base',
  ].join('\n'),
  options: {
    tag: { type: 'string', short: 't', arg: 'NAME', help: 'name of the new image (letters, digits, _ . -)' },
    force: { type: 'boolean', help: 'replace an image of that name (its containers keep their layers)' },
  },
  positionals: [1, 1],
  positionalNames: ['DIR|TARBALL'],
  async run(context, values, [source]) {
    const tag = requiredOption(values, 'tag', 'NAME');
    const from = source!;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(from);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${from} does not exist; give a directory or a tar archive to import`);
      throw error;
    }
    const engine = context.engine();
    const force = values.force === true;
    let entries = 0;
    let bytes = 0;
    let record: ImageRecord;
    if (stat.isDirectory()) {
      const progress = new Progress(`importing ${path.basename(path.resolve(from))}`, progressTotal(from), 'bytes');
      try {
        record = engine.importDirectory(from, tag, {
          force,
          onEntry: (at, size) => {
            entries++;
            bytes += size;
            progress.update(bytes, at);
          },
        });
      } finally {
        progress.finish();
      }
    } else if (stat.isFile()) {
      const progress = new Progress(`importing ${path.basename(from)}`, stat.size, 'bytes');
      try {
        record = await engine.importTar(from, tag, {
          force,
          onEntry: (_, size) => {
            entries++;
            bytes += size;
          },
          onRead: (read) => progress.update(read),
        });
      } finally {
        progress.finish();
      }
    } else {
      throw new Error(`${from} is neither a directory nor a file; give a directory or a tar archive to import`);
    }
    context.out(`imported ${tag}: ${entries} entries, ${formatBytes(bytes)} of file data (layer ${shortDigest(record.layers[0]!)})\n`);
  },
};

/** File bytes under a directory (a quick walk before the import, for the bar's 100%). */
function progressTotal(root: string): number {
  if (!process.stderr.isTTY) return 0;
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(at);
      else if (entry.isFile()) total += fs.lstatSync(at).size;
    }
  };
  walk(root);
  return total;
}
