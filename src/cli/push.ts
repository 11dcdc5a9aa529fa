import type { Layer } from '../layer/index.js';
import { pushImage } from '../registry/index.js';
import type { Engine } from '../container/index.js';
import * as fs from 'node:fs';
import { type Command, UsageError, type Values, stringOption } from './command.js';
import { formatBytes } from './format.js';
import { LayerProgress } from './layer-progress.js';
import { REGISTRY_OPTIONS, platformOption, registryOptions } from './registry-options.js';

export const pushCommand: Command = {
  name: 'push',
  usage: 'IMAGE|CONTAINER REF',
  summary: 'Upload an image, or a container (its image plus its changes), to an OCI registry.',
  description: [
    'REF is host[:port]/repository:tag. Layers the registry has are skipped (HEAD), layers another',
    'repository of the same registry has are mounted, the rest are uploaded as gzip layers in',
    'chunks; the manifest is put last, so the tag appears only when every blob is in. A second',
    'push of an image sharing a base uploads only the new layers. Logins come from',
    '$REGISTRY_AUTH_FILE or ~/.docker/config.json. A name that is both an image and a container',
    'is taken as the image unless --container is given. --lazy writes uncompressed tar layers and',
    'a layerfs index (tagged sha256-<manifest>.layerfs) so `pull --lazy` can fetch files on demand.',
    '--index with --platform makes REF an image index serving several platforms, one push each.',
    '',
    'Example: layerfs push web localhost:5000/web:1.0',
  ].join('\n'),
  options: {
    container: { type: 'boolean', help: 'NAME is a container (when an image has the same name)' },
    prefetch: { type: 'string', arg: 'FILE', help: 'with --lazy: a file listing the paths a program start reads (one a line), fetched by pull --lazy at once' },
    platform: { type: 'string', arg: 'OS/ARCH', help: 'the platform the image config states (default: the host\'s)' },
    index: { type: 'boolean', help: 'put an image index at REF: this image for its platform, beside the platforms REF has' },
    lazy: { type: 'boolean', help: 'write the seekable form for pull --lazy: plain tar layers and a layerfs index beside the image' },
    ...REGISTRY_OPTIONS,
  },
  positionals: [2, 2],
  positionalNames: ['IMAGE|CONTAINER', 'REF'],
  async run(context, values, [name, ref]) {
    const engine = context.engine();
    // gc must wait: the push reads blobs, and a container's commit writes ones nothing names.
    const work = engine.pin(`pushing ${name}`);
    const progress = new LayerProgress();
    try {
      const layers = layersOf(engine, name!, values.container === true);
      // Through the reader: a lazily pulled image's missing chunks are fetched as they are sent.
      const pushed = await pushImage(engine.reader, engine.dir, layers, ref!, {
        ...registryOptions(values),
        lazy: values.lazy === true,
        index: values.index === true,
        ...prefetchOption(values),
        ...(platformOption(values) ? { platform: platformOption(values)! } : {}),
        onLayer: (event) => progress.update(event.layer, event.state, event.bytes),
      }).finally(() => progress.finish());
      const skipped = [pushed.exists && `${pushed.exists} already there`, pushed.mounted && `${pushed.mounted} mounted`].filter(Boolean).join(', ');
      context.out(`pushed ${name} to ${ref}: ${pushed.uploaded} layer${pushed.uploaded === 1 ? '' : 's'} uploaded (${formatBytes(pushed.bytes)})${skipped ? `, ${skipped}` : ''}; manifest ${pushed.manifestDigest}\n`);
    } finally {
      work.release();
    }
  },
};

/** `--prefetch FILE`: the paths it lists, one a line (blank lines and # comments skipped). */
function prefetchOption(values: Values): { prefetch?: string[] } {
  const file = stringOption(values, 'prefetch');
  if (file === undefined) return {};
  if (values.lazy !== true) throw new UsageError('--prefetch goes with --lazy: a plain image is pulled whole');
  const paths = fs.readFileSync(file, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const relative = paths.find((line) => !line.startsWith('/'));
  if (relative !== undefined) throw new UsageError(`${file}: ${JSON.stringify(relative)} is not an absolute path in the image`);
  return { prefetch: paths };
}

/** An image's layers, or a container's image layers plus its changes as a new layer on top. */
function layersOf(engine: Engine, name: string, container: boolean): readonly Layer[] {
  const isImage = !container && engine.images().some((image) => image.name === name);
  if (isImage) return engine.image(name).layers;
  if (!engine.containers().some((record) => record.name === name)) {
    throw new UsageError(`${name} is neither an image nor a container (layerfs images, layerfs ps list them)`);
  }
  return engine.openContainer(name).commit().image.layers;
}
