import type { Command } from './command.js';

export const rmCommand: Command = {
  name: 'rm',
  usage: 'CONTAINER...',
  summary: 'Remove containers (refused while mounted). `layerfs gc` then frees their space.',
  description: '',
  options: {},
  positionals: [1, Infinity],
  positionalNames: ['CONTAINER'],
  run(context, _values, names) {
    const engine = context.engine();
    for (const name of names) {
      engine.rm(name);
      context.out(`removed ${name}\n`);
    }
  },
};
