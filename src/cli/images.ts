import { type Command, JSON_OPTION } from './command.js';
import { formatAge, shortDigest, table } from './format.js';

export const imagesCommand: Command = {
  name: 'images',
  usage: '[--json]',
  summary: 'List images.',
  description: 'Sizes are in `layerfs df`.',
  options: { ...JSON_OPTION },
  positionals: [0, 0],
  positionalNames: [],
  run(context, values) {
    const engine = context.engine();
    const images = engine.images();
    const containers = engine.containers();
    const users = (name: string) => containers.filter((container) => container.image === name).length;
    if (values.json) {
      context.out(`${JSON.stringify(images.map((image) => ({ ...image, containers: users(image.name) })), null, 2)}\n`);
      return;
    }
    if (images.length === 0) {
      context.out('no images; import one with: layerfs import DIR --tag NAME\n');
      return;
    }
    const rows = images.map((image) => [image.name, shortDigest(image.layers.at(-1) ?? ''), String(image.layers.length), String(users(image.name)), formatAge(image.created)]);
    context.out(table(['NAME', 'TOP LAYER', 'LAYERS', 'CONTAINERS', 'CREATED'], rows, new Set([2, 3])));
  },
};
