import { type Command, JSON_OPTION } from './command.js';

const LETTER = { added: 'A', changed: 'C', deleted: 'D' } as const;

export const diffCommand: Command = {
  name: 'diff',
  usage: 'CONTAINER [--json]',
  summary: 'List the paths a container added (A), changed (C) and deleted (D), as `docker diff` does.',
  description: 'A mounted container is shown as last saved (the mount saves every few seconds and on fsync).',
  options: { ...JSON_OPTION },
  positionals: [1, 1],
  positionalNames: ['CONTAINER'],
  run(context, values, [name]) {
    const changes = context.engine().diff(name!);
    if (values.json) {
      context.out(`${JSON.stringify(changes.map(({ kind, path }) => ({ kind, path })), null, 2)}\n`);
      return;
    }
    context.out(changes.map((change) => `${LETTER[change.kind]} ${change.path}\n`).join(''));
  },
};
