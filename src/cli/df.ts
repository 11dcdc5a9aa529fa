import { lazyPresence } from '../registry/index.js';
import { type Command, JSON_OPTION } from './command.js';
import { formatBytes, table } from './format.js';

export const dfCommand: Command = {
  name: 'df',
  usage: '[--json]',
  summary: 'Show how the store is used, per image and per container (like `docker system df -v`).',
  description: [
    'SIZE is the file data an image or container holds (a container: the files it changed or',
    'added); STORED the distinct blobs it references; SHARED the part another image or container',
    'references too; UNIQUE what removing it (then gc) would free.',
  ].join('\n'),
  options: { ...JSON_OPTION },
  positionals: [0, 0],
  positionalNames: [],
  run(context, values) {
    const usage = context.engine().df();
    const lazy = lazyPresence(context.engine());
    if (values.json) {
      context.out(`${JSON.stringify(lazy.length > 0 ? { ...usage, lazy } : usage, null, 2)}\n`);
      return;
    }
    const b = formatBytes;
    const right = new Set([1, 2, 3, 4, 5]);
    context.out('Images:\n');
    context.out(table(['NAME', 'SIZE', 'STORED', 'SHARED', 'UNIQUE', 'CONTAINERS'], usage.images.map((i) => [i.name, b(i.logicalBytes), b(i.storedBytes), b(i.sharedBytes), b(i.uniqueBytes), String(i.containers)]), right));
    context.out('\nContainers:\n');
    context.out(table(['NAME', 'SIZE', 'STORED', 'SHARED', 'UNIQUE', 'IMAGE'], usage.containers.map((c) => [c.name, b(c.logicalBytes), b(c.storedBytes), b(c.sharedBytes), b(c.uniqueBytes), c.image]), new Set([1, 2, 3, 4])));
    const { store } = usage;
    context.out(`\nStore: ${store.blobs} blobs, ${b(store.bytes)}; reclaimable by gc: ${b(store.reclaimableBytes)}\n`);
    if (lazy.length > 0) {
      context.out('\nLazily pulled images (contents fetched on first read; layerfs pull --rest NAME fetches the rest):\n');
      context.out(table(['NAME', 'PRESENT', 'TOTAL', 'SHARE'], lazy.map((l) => [l.image, b(l.presentBytes), b(l.totalBytes), `${l.totalBytes === 0 ? 100 : Math.floor((100 * l.presentBytes) / l.totalBytes)}%`]), new Set([1, 2, 3])));
    }
    for (const problem of usage.unreadable) context.err(`layerfs: warning: ${problem} (numbers above are lower bounds; run layerfs verify)\n`);
  },
};
