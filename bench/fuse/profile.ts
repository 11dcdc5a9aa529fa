/**
 * Summarises V8 CPU profiles (from `npm run bench:fuse -- --profile DIR`): per profile file, the
 * functions with the most self time (idle and GC included) and with the most time including callees.
 *
 *   tsx bench/fuse/profile.ts DIR_OR_FILE... [--top 25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { printTable } from '../lib/report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values: flags, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
const files = positionals.flatMap((given) =>
  fs.statSync(given).isDirectory()
    ? fs.readdirSync(given).filter((name) => name.endsWith('.cpuprofile')).sort().map((name) => path.join(given, name))
    : [given],
);

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    return `${frame.functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [index, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[index] ?? 0;
    const key = keyOf(id);
    self.set(key, (self.get(key) ?? 0) + delta);
    // Every function on the sample's stack, once each (recursion counts once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(keyOf(at));
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
    total += delta;
  }
  const busy = total - (self.get('(idle)') ?? 0);
  console.log(`\n${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`);
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(flags.top))
    .map(([name, micros]) => [name, (micros / 1000).toFixed(1), `${((micros / total) * 100).toFixed(1)}%`]);
  printTable(['function', 'self ms', 'share'], rows);
  console.log('');
  const inclusiveRows = [...inclusive.entries()]
    .filter(([name]) => !name.startsWith('(root)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(flags.top))
    .map(([name, micros]) => [name, (micros / 1000).toFixed(1), `${((micros / total) * 100).toFixed(1)}%`]);
  printTable(['function (with callees)', 'total ms', 'share'], inclusiveRows);
}
