import * as path from 'node:path';
import { Engine } from '../../src/container/index.js';
import { tempDir } from '../helpers/tmp.js';
import { seededBytes } from '../helpers/bytes.js';
import { viewTree } from '../image/oci-helpers.js';
import { hostTree as folder } from '../cli/helpers.js';

/** A fresh store (not durable: tests only). */
export function freshEngine(): Engine {
  return Engine.open(path.join(tempDir('layerfs-registry-store-'), 'store'), { durable: false });
}

/** A host folder of files (path -> content). */
export { hostTree as folder } from '../cli/helpers.js';

/**
 * Images `base` (one layer: /etc, a 600 KiB binary) and `app` (base plus a layer of its own),
 * so pushes can share a base.
 */
export function baseAndApp(engine: Engine, seed = 1): void {
  engine.importDirectory(folder({ 'etc/os-release': 'ID=test\n', 'bin/tool': seededBytes(600 * 1024, seed), 'lib/empty': '' }), 'base');
  const app = engine.importDirectory(folder({ 'app/main.js': 'console.log(1)\n', 'app/data.bin': seededBytes(200 * 1024, seed + 1) }), 'app-layer');
  engine.tag('app', [...engine.imageRecord('base').layers, ...app.layers]);
}

/** The merged tree of a named image. */
export function treeOf(engine: Engine, name: string): Record<string, string> {
  return viewTree(engine.store, engine.image(name).layers);
}

/** Requests of a method on a path pattern in the registry's access log. */
export function countRequests(log: string, method: string, pattern: RegExp): number {
  return log.split('\n').filter((line) => line.includes(`"${method} `) && pattern.test(line)).length;
}
