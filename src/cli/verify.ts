import { type Command, EXIT, JSON_OPTION } from './command.js';
import { formatBytes } from './format.js';
import { Progress } from './progress.js';

export const verifyCommand: Command = {
  name: 'verify',
  usage: '[--json]',
  summary: 'Rehash every blob; report missing and corrupt ones and what they break.',
  description: 'Exit code 0 when the store is whole, 1 when it found problems.',
  options: { ...JSON_OPTION },
  positionals: [0, 0],
  positionalNames: [],
  run(context, values) {
    const engine = context.engine();
    const progress = new Progress('verifying', progressTotal(engine), 'items');
    let report;
    try {
      // Chunks of lazily pulled images not fetched yet are not lost: they are noted, not problems
      // (the engine reads through the lazy store, which knows where they are).
      report = engine.verify((done) => progress.update(done));
    } finally {
      progress.finish();
    }
    if (values.json) {
      context.out(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? EXIT.ok : EXIT.failure;
    }
    if (report.notFetched > 0) context.out(`${report.notFetched} chunks of lazily pulled images are not fetched yet (layerfs pull --rest NAME fetches them)\n`);
    if (report.ok) {
      context.out(`ok: ${report.blobs} blobs, ${formatBytes(report.bytes)}, all intact\n`);
      return EXIT.ok;
    }
    for (const problem of report.problems) {
      const users = [...problem.images.map((name) => `image ${name}`), ...problem.containers.map((name) => `container ${name}`)];
      context.out(`${problem.fault} ${problem.digest}: ${users.length > 0 ? `used by ${users.join(', ')}` : 'unused (gc removes it)'}\n`);
    }
    for (const line of [...report.undecodable, ...report.damagedRecords]) context.out(`damaged ${line}\n`);
    if (report.brokenImages.length > 0) context.out(`broken images: ${report.brokenImages.join(', ')}\n`);
    if (report.brokenContainers.length > 0) context.out(`broken containers: ${report.brokenContainers.join(', ')}\n`);
    const count = report.problems.length + report.undecodable.length + report.damagedRecords.length;
    context.err(`layerfs: the store has ${count} problem${count === 1 ? '' : 's'}; restore it from a backup, or remove what is broken (layerfs rm / rmi) and run layerfs gc\n`);
    return EXIT.failure;
  },
};

function progressTotal(engine: ReturnType<Parameters<Command['run']>[0]['engine']>): number {
  if (!process.stderr.isTTY) return 0;
  let count = 0;
  for (const _ of engine.store.digests()) count++;
  return count;
}
