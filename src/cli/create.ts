import { type Command, requiredOption } from './command.js';

export const createCommand: Command = {
  name: 'create',
  usage: 'IMAGE --name NAME',
  summary: 'Create a container of an image.',
  description: 'Costs a small record and no copy: the container shares every layer of the image.\n\nExample: layerfs create base --name web',
  options: { name: { type: 'string', short: 'n', arg: 'NAME', help: 'name of the new container (letters, digits, _ . -)' } },
  positionals: [1, 1],
  positionalNames: ['IMAGE'],
  run(context, values, [image]) {
    const name = requiredOption(values, 'name', 'NAME');
    context.engine().create(image!, name);
    context.out(`created ${name} from ${image}\n`);
  },
};
