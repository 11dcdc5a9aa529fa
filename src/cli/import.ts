import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageRecord } from '../container/index.js';
import { type Command, requiredOption, stringOption } from './command.js';
import { formatBytes, shortDigest } from './format.js';
import { Progress } from './progress.js';

export const importCommand: Command = {
  name: 'import',
  usage: 'DIR|TARBALL --tag NAME',
  summary: 'Import a directory, a layer tarball, an OCI image or a `docker save` archive as an image.',
  description: [
    'A directory keeps its modes, owners, times, symlinks, hard links, devices and fifos. A file may',
    'be an OCI image layout (tar), a `docker save` tarball or a single layer tarball, plain or',
    'gzipped; `.wh.` whiteouts become whiteouts and every digest is checked. A folder holding an',
    'OCI layout (oci-layout) or an extracted docker save (manifest.json) is read as that image.',
    'Identical contents are stored once, across all images.',
    '',
    'Example: layerfs import ./rootfs --tag base; layerfs import alpine.tar --tag alpine',
  ].join('\n'),
  options: {
    tag: { type: 'string', short: 't', arg: 'NAME', help: 'name of the new image (letters, digits, _ . -)' },
    force: { type: 'boolean', help: 'replace an image of that name (its containers keep their layers)' },
    ref: { type: 'string', arg: 'REF', help: 'which image of an archive holding several (a tag such as alpine:3.19)' },
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
    const ref = stringOption(values, 'ref');
    let entries = 0;
    let bytes = 0;
    let record: ImageRecord;
    const isDirectory = stat.isDirectory() && !isImageFolder(from);
    if (!isDirectory && !stat.isFile() && !isImageFolder(from)) {
      throw new Error(`${from} is neither a directory nor a file; give a directory or a tar archive to import`);
    }
    // An image archive is read by the importer itself: its total is not known up front.
    const progress = isDirectory
      ? new Progress(`importing ${path.basename(path.resolve(from))}`, progressTotal(from), 'bytes')
      : new Progress(`importing ${path.basename(from)}`, 0, 'bytes');
    const onEntry = (at: string, size: number) => {
      entries++;
      bytes += size;
      progress.update(bytes, at);
    };
    try {
      record = isDirectory
        ? engine.importDirectory(from, tag, { force, onEntry })
        : await engine.importImage(from, tag, { force, ...(ref === undefined ? {} : { ref }), onEntry });
    } finally {
      progress.finish();
    }
    const top = shortDigest(record.layers.at(-1) ?? '');
    const layers = record.layers.length === 1 ? `layer ${top}` : `${record.layers.length} layers, top ${top}`;
    context.out(`imported ${tag}: ${entries} entries, ${formatBytes(bytes)} of file data (${layers})\n`);
  },
};

/** An OCI image layout or an extracted `docker save`, rather than a root filesystem. */
function isImageFolder(dir: string): boolean {
  return fs.statSync(dir).isDirectory() && (fs.existsSync(path.join(dir, 'oci-layout')) || fs.existsSync(path.join(dir, 'manifest.json')));
}

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
