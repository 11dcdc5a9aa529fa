import type { Command } from './command.js';

export const rmiCommand: Command = {
  name: 'rmi',
  usage: 'IMAGE...',
  summary: 'Remove images (refused while a container uses one). `layerfs gc` then frees their space.',
  description: '',
  options: {},
  positionals: [1, Infinity],
  positionalNames: ['IMAGE'],
  run(context, _values, names) {
    const engine = context.engine();
    for (const name of names) {
      engine.rmi(name);
      context.out(`removed image ${name}\n`);
    }
  },
};
