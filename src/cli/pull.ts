import { type LazyPulledImage, type PulledImage, fetchRest, pullImage, pullLazy } from '../registry/index.js';
import { type Command, UsageError, stringOption } from './command.js';
import { formatBytes, shortDigest } from './format.js';
import { LayerProgress } from './layer-progress.js';
import { Progress } from './progress.js';
import { REGISTRY_OPTIONS, platformOption, registryOptions } from './registry-options.js';

export const pullCommand: Command = {
  name: 'pull',
  usage: 'REF [--tag NAME] [--lazy] | --rest NAME',
  summary: 'Fetch an image from an OCI registry (distribution API v2) into the store.',
  description: [
    'REF is host[:port]/repository[:tag|@digest]; from an index, the image for this machine\'s',
    'platform is taken. Layers are fetched three at a time and every digest and size is checked;',
    'a failed pull leaves no image, and a pull started again resumes the layers it had begun.',
    'Logins come from $REGISTRY_AUTH_FILE or ~/.docker/config.json (podman login, docker login).',
    'Plain http is used for a registry on this machine that does not speak TLS (or with --insecure).',
    '--lazy makes an image pushed with `push --lazy` usable at once: its trees come first, file',
    'contents on first read (a read waits up to $LAYERFS_LAZY_TIMEOUT seconds, default 30, then',
    'fails with EIO); an image without the seekable form is pulled whole. --rest NAME fetches',
    'what a lazy image still lacks (run it in the background with &); `layerfs df` shows how much is here.',
    '',
    'Example: layerfs pull localhost:5000/base:1.0 --tag base',
  ].join('\n'),
  options: {
    tag: { type: 'string', short: 't', arg: 'NAME', help: 'the local image name (default: the repository\'s last part, -TAG unless latest)' },
    force: { type: 'boolean', help: 'replace a local image of that name' },
    platform: { type: 'string', arg: 'OS/ARCH', help: 'which image of a multi-platform index (default: this machine\'s)' },
    lazy: { type: 'boolean', help: 'fetch file contents on first read (images pushed with push --lazy)' },
    rest: { type: 'string', arg: 'NAME', help: 'fetch the rest of the lazily pulled image NAME' },
    ...REGISTRY_OPTIONS,
  },
  positionals: [0, 1],
  positionalNames: ['REF'],
  async run(context, values, [ref]) {
    const rest = stringOption(values, 'rest');
    if (rest !== undefined) {
      if (ref !== undefined) throw new UsageError('--rest NAME takes no REF: the image knows where it came from');
      const progress = new Progress(`fetching the rest of ${rest}`, 0, 'bytes');
      const done = await fetchRest(context.engine(), rest, { ...registryOptions(values), onBytes: (bytes) => progress.update(bytes) }).finally(() => progress.finish());
      context.out(done.chunks === 0 ? `${rest} is complete: nothing to fetch\n` : `fetched the rest of ${rest}: ${done.chunks} chunks, ${formatBytes(done.fetchedBytes)}\n`);
      return;
    }
    if (ref === undefined) throw new UsageError('missing REF');
    const platform = platformOption(values);
    const progress = new LayerProgress();
    const tag = stringOption(values, 'tag');
    const pull = values.lazy === true ? pullLazy : pullImage;
    const pulled: PulledImage & Partial<LazyPulledImage> = await pull(context.engine(), ref, {
      ...registryOptions(values),
      ...(tag === undefined ? {} : { tag }),
      force: values.force === true,
      ...(platform ? { platform } : {}),
      onLayer: (event) => progress.update(event.digest, event.state, event.done, event.size),
    }).finally(() => progress.finish());
    const layers = pulled.record.layers;
    const reused = pulled.cached > 0 ? `, ${formatBytes(pulled.cached)} already here` : '';
    if (pulled.lazy) {
      context.out(`pulled ${pulled.record.name} lazily: ${layers.length} layer${layers.length === 1 ? '' : 's'}, ${formatBytes(pulled.fetched)} of metadata; contents come on first read (layerfs pull --rest ${pulled.record.name} fetches the rest)\n`);
      if (pulled.prefetching) {
        // The image is usable already (a mount may start now); the prefetch list follows.
        const bytes = await pulled.prefetching;
        context.out(`fetched ${formatBytes(bytes)} of the files on its prefetch list\n`);
      }
      return;
    }
    if (values.lazy === true) context.err(`layerfs pull: ${ref} has no seekable form (push it with push --lazy): pulled whole\n`);
    context.out(`pulled ${pulled.record.name}: ${layers.length} layer${layers.length === 1 ? '' : 's'}, top ${shortDigest(layers.at(-1) ?? '')}; fetched ${formatBytes(pulled.fetched)}${reused}\n`);
  },
};
