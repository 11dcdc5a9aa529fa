/**
 * Lookup cost against layer count: the same final tree as 1 layer and as 128 layers (each adding
 * and overriding files in shared directories), resolved path by path, cold (first lookups build
 * the merged indexes) and warm. The ratio 128 / 1 layers is the headline: it should stay near 1.
 */
import { parseArgs } from 'node:util';
import { Container, Image, LayerBuilder, MemoryBlobStore } from '../../src/index.js';
import { commit, machine, printTable, writeResult } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: { files: { type: 'string', default: '20000' }, layers: { type: 'string', default: '128' }, out: { type: 'string', default: 'bench/results/lookup.json' } },
});
const files = Number(flags.files);
const layerCount = Number(flags.layers);
const paths = Array.from({ length: files }, (_, i) => `/usr/share/pkg${i % 200}/dir${i % 7}/file${i}`);

function image(layers: number): { container: Container } {
  const store = new MemoryBlobStore();
  const builders = Array.from({ length: layers }, () => new LayerBuilder(store));
  // Every layer has every directory; file i lives in layer i % layers (and is overridden above).
  paths.forEach((path, i) => {
    builders[i % layers]!.file(path, `v${i}`);
    if (layers > 1 && i % 10 === 0) builders[layers - 1]!.file(path, `top${i}`);
  });
  for (const builder of builders) for (let p = 0; p < 200; p++) builder.dir(`/usr/share/pkg${p}`);
  const built = new Image(builders.map((builder) => builder.build()));
  return { container: new Container(built, store) };
}

function timeLookups(container: Container): number {
  const started = performance.now();
  for (const path of paths) container.stat(container.resolve(path));
  return ((performance.now() - started) * 1000) / paths.length;
}

const rows: [string, number, number][] = [];
const result: Record<string, { coldMicros: number; warmMicros: number }> = {};
for (const layers of [1, layerCount]) {
  const { container } = image(layers);
  const cold = timeLookups(container);
  const warm = Math.min(timeLookups(container), timeLookups(container), timeLookups(container));
  rows.push([`${layers} layer${layers === 1 ? '' : 's'}`, cold, warm]);
  result[String(layers)] = { coldMicros: cold, warmMicros: warm };
}
const [one, many] = [result['1']!, result[String(layerCount)]!];
printTable(['image', 'cold µs/lookup', 'warm µs/lookup'], rows.map(([name, cold, warm]) => [name, cold.toFixed(2), warm.toFixed(2)]));
console.log(`\n${layerCount} layers / 1 layer: cold ${(many.coldMicros / one.coldMicros).toFixed(2)}x, warm ${(many.warmMicros / one.warmMicros).toFixed(2)}x (${files} files)`);
writeResult(flags.out, { benchmark: 'lookup', machine: machine(), commit: commit(), date: new Date().toISOString(), parameters: { files, layers: layerCount }, result, ratios: { cold: many.coldMicros / one.coldMicros, warm: many.warmMicros / one.warmMicros } });
