import { type Command, JSON_OPTION } from './command.js';
import { formatBytes } from './format.js';

export const gcCommand: Command = {
  name: 'gc',
  usage: '[--json]',
  summary: 'Delete the blobs no image or container references.',
  description: 'Refused while a container is mounted or an import runs: their new blobs are not referenced yet.',
  options: { ...JSON_OPTION },
  positionals: [0, 0],
  positionalNames: [],
  run(context, values) {
    const result = context.engine().gc();
    if (values.json) context.out(`${JSON.stringify(result, null, 2)}\n`);
    else context.out(`deleted ${result.deleted} blobs, freed ${formatBytes(result.freedBytes)}; ${result.kept} blobs kept\n`);
  },
};
