import { type Command, JSON_OPTION } from './command.js';
import { formatAge, table } from './format.js';

export const psCommand: Command = {
  name: 'ps',
  usage: '[--json]',
  summary: 'List containers, and which are mounted.',
  description: '',
  options: { ...JSON_OPTION },
  positionals: [0, 0],
  positionalNames: [],
  run(context, values) {
    const containers = context.engine().containers();
    if (values.json) {
      context.out(`${JSON.stringify(containers, null, 2)}\n`);
      return;
    }
    if (containers.length === 0) {
      context.out('no containers; create one with: layerfs create IMAGE --name NAME\n');
      return;
    }
    const rows = containers.map((container) => {
      const holder = container.lockedBy;
      const status = holder ? `${holder.what}${holder.mountpoint ? ` at ${holder.mountpoint}` : ''} (pid ${holder.pid})` : '-';
      return [container.name, container.image, container.upper === null && !container.journal ? 'no' : 'yes', status, formatAge(container.created)];
    });
    context.out(table(['NAME', 'IMAGE', 'CHANGED', 'STATUS', 'CREATED'], rows));
  },
};
