import { type Command, requiredOption } from './command.js';
import { shortDigest } from './format.js';

export const commitCommand: Command = {
  name: 'commit',
  usage: 'CONTAINER --tag NAME',
  summary: "Make an image of a container: its image's layers plus one layer of its changes.",
  description: 'A mounted container is committed as last saved.\n\nExample: layerfs commit web --tag web-v2',
  options: {
    tag: { type: 'string', short: 't', arg: 'NAME', help: 'name of the new image' },
    force: { type: 'boolean', help: 'replace an image of that name' },
  },
  positionals: [1, 1],
  positionalNames: ['CONTAINER'],
  run(context, values, [name]) {
    const tag = requiredOption(values, 'tag', 'NAME');
    const image = context.engine().commit(name!, tag, { force: values.force === true });
    context.out(`committed ${name} as ${tag} (${image.layers.length} layers, top ${shortDigest(image.layers.at(-1)!)})\n`);
  },
};
