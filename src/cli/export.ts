import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ImageExportOptions, dockerArchive, layerTarGzip, ociArchive, writeOciLayout, writeStreamAtomic } from '../image/index.js';
import type { Layer } from '../layer/index.js';
import type { Engine } from '../container/index.js';
import { type Command, type Context, UsageError, type Values, requiredOption, stringOption } from './command.js';
import { formatBytes } from './format.js';

const FORMATS = ['oci', 'docker', 'layer'] as const;
type Format = (typeof FORMATS)[number];

export const exportCommand: Command = {
  name: 'export',
  usage: 'CONTAINER --format oci|docker|layer -o FILE|DIR/|-',
  summary: "Write a container (its image plus its changes) as an OCI image, a `docker save` tarball or one layer.",
  description: [
    '--format layer writes only the container\'s changes: one gzip OCI layer tarball, deletions as',
    '`.wh.` whiteouts and replaced directories as opaque (`.wh..wh..opq`). --format oci writes an',
    'OCI image layout (a tar; a folder when -o ends with / or names a folder); --format docker',
    'writes what `docker load` reads. The same tree always gives the same bytes. A mounted',
    'container is exported as last saved; --image exports an image instead of a container.',
    '',
    'Example: layerfs export web --format oci -o web.tar; skopeo copy oci-archive:web.tar:web ...',
  ].join('\n'),
  options: {
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'oci, docker or layer' },
    output: { type: 'string', short: 'o', arg: 'FILE', help: 'where to write (- for standard output)' },
    tag: { type: 'string', short: 't', arg: 'REF', help: 'the name inside the image (default: CONTAINER, as CONTAINER:latest for docker)' },
    image: { type: 'boolean', help: 'CONTAINER names an image, not a container' },
    'all-times': { type: 'boolean', help: 'keep atime and ctime too (a layerfs import then gives the same layer ids)' },
  },
  positionals: [1, 1],
  positionalNames: ['CONTAINER'],
  async run(context, values, [name]) {
    const format = requiredOption(values, 'format', 'FORMAT') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
    const output = requiredOption(values, 'output', 'FILE');
    if (output === '-' && process.stdout.isTTY) throw new UsageError('refusing to write an archive to a terminal; give -o FILE or redirect the output');
    const engine = context.engine();
    // gc must wait: the export reads blobs, and a container's commit writes ones nothing names.
    const work = engine.pin(`exporting ${name}`);
    try {
      await exportTo(engine, context, values, name!, format, output);
    } finally {
      work.release();
    }
  },
};

/** Writes the container's changes, or the image, in the format asked for. */
async function exportTo(engine: Engine, context: Context, values: Values, name: string, format: Format, output: string): Promise<void> {
  let layers: readonly Layer[];
  let changes: Layer;
  if (values.image === true) {
    layers = engine.image(name).layers;
    changes = layers.at(-1)!;
    if (!changes) throw new Error(`image ${name} has no layers`);
  } else {
    // Commit stores the new layer: an unreferenced blob until something tags it (gc reclaims it).
    const committed = engine.openContainer(name).commit();
    layers = committed.image.layers;
    changes = committed.layer;
  }
  const options: ImageExportOptions = {
    tags: [stringOption(values, 'tag') ?? name],
    ...(values['all-times'] === true ? { times: 'all' as const } : {}),
    onSkip: (at, reason) => context.err(`layerfs export: left out ${at}: ${reason}\n`),
  };
  // Through the reader: the chunks of a lazily pulled image not fetched yet are fetched now.
  const store = engine.reader;
  const intoFolder = format === 'oci' && output !== '-' && (output.endsWith('/') || isFolder(output));
  let bytes: number;
  if (intoFolder) {
    await writeOciLayout(store, layers, output, options);
    bytes = folderSize(output);
  } else {
    const stream = format === 'layer' ? layerTarGzip(store, changes, options) : format === 'oci' ? ociArchive(store, layers, options) : dockerArchive(store, layers, options);
    bytes = output === '-' ? await toStdout(stream) : await toFile(stream, output);
  }
  const count = `${layers.length} layer${layers.length === 1 ? '' : 's'}`;
  const what = format === 'layer' ? 'its changes as a layer' : `${count} as ${format === 'oci' ? 'an OCI image' : 'a docker save archive'}`;
  (output === '-' ? context.err : context.out)(`exported ${name}: ${what}, ${formatBytes(bytes)}${output === '-' ? '' : ` to ${output}`}\n`);
}

function isFolder(at: string): boolean {
  try {
    return fs.statSync(at).isDirectory();
  } catch {
    return false;
  }
}

function folderSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}

/** Writes through a temporary file renamed at the end: a failed export leaves no partial file. */
async function toFile(stream: AsyncIterable<Uint8Array>, file: string): Promise<number> {
  let bytes = 0;
  await writeStreamAtomic(file, counted(stream, (count) => (bytes += count)));
  return bytes;
}

async function toStdout(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.length;
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
  }
  return bytes;
}

async function* counted(stream: AsyncIterable<Uint8Array>, add: (count: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    add(chunk.length);
    yield chunk;
  }
}
