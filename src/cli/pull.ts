import { pullImage } from '../registry/index.js';
import { type Command, UsageError, stringOption } from './command.js';
import { formatBytes, shortDigest } from './format.js';
import { LayerProgress } from './layer-progress.js';
import { REGISTRY_OPTIONS, registryOptions } from './registry-options.js';

export const pullCommand: Command = {
  name: 'pull',
  usage: 'REF [--tag NAME]',
  summary: 'Fetch an image from an OCI registry (distribution API v2) into the store.',
  description: [
    'REF is host[:port]/repository[:tag|@digest]; from an index, the image for this machine\'s',
    'platform is taken. Layers are fetched three at a time and every digest and size is checked;',
    'a failed pull leaves no image, and a pull started again resumes the layers it had begun.',
    'Logins come from $REGISTRY_AUTH_FILE or ~/.docker/config.json (podman login, docker login).',
    'Plain http is used for a registry on this machine that does not speak TLS (or with --insecure).',
    '',
    'Example: layerfs pull localhost:5000/base:1.0 --tag base',
  ].join('\n'),
  options: {
    tag: { type: 'string', short: 't', arg: 'NAME', help: 'the local image name (default: the repository\'s last part, -TAG unless latest)' },
    force: { type: 'boolean', help: 'replace a local image of that name' },
    platform: { type: 'string', arg: 'OS/ARCH', help: 'which image of a multi-platform index (default: this machine\'s)' },
    ...REGISTRY_OPTIONS,
  },
  positionals: [1, 1],
  positionalNames: ['REF'],
  async run(context, values, [ref]) {
    const platformText = stringOption(values, 'platform');
    let platform: { os: string; architecture: string; variant?: string } | undefined;
    if (platformText !== undefined) {
      const [os, architecture, variant] = platformText.split('/');
      if (!os || !architecture) throw new UsageError(`--platform must be OS/ARCH[/VARIANT] (linux/amd64), not ${JSON.stringify(platformText)}`);
      platform = { os, architecture, ...(variant ? { variant } : {}) };
    }
    const progress = new LayerProgress();
    const tag = stringOption(values, 'tag');
    const pulled = await pullImage(context.engine(), ref!, {
      ...registryOptions(values),
      ...(tag === undefined ? {} : { tag }),
      force: values.force === true,
      ...(platform ? { platform } : {}),
      onLayer: (event) => progress.update(event.digest, event.state, event.done, event.size),
    }).finally(() => progress.finish());
    const layers = pulled.record.layers;
    const reused = pulled.cached > 0 ? `, ${formatBytes(pulled.cached)} already here` : '';
    context.out(`pulled ${pulled.record.name}: ${layers.length} layer${layers.length === 1 ? '' : 's'}, top ${shortDigest(layers.at(-1) ?? '')}; fetched ${formatBytes(pulled.fetched)}${reused}\n`);
  },
};
