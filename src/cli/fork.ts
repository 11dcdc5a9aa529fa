import { type Command, requiredOption } from './command.js';

export const forkCommand: Command = {
  name: 'fork',
  usage: 'CONTAINER --name NAME',
  summary: 'Copy a container, in constant time: both share everything it holds now.',
  description: 'A mounted container is forked as last saved.\n\nExample: layerfs fork web --name web-test',
  options: { name: { type: 'string', short: 'n', arg: 'NAME', help: 'name of the new container' } },
  positionals: [1, 1],
  positionalNames: ['CONTAINER'],
  run(context, values, [name]) {
    const newName = requiredOption(values, 'name', 'NAME');
    context.engine().fork(name!, newName);
    context.out(`forked ${name} as ${newName}\n`);
  },
};
