// Builds a node-gyp project with the node-gyp that ships with npm, against the headers installed
// with this Node (no download: the machine may be offline).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export function rebuild(dir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const gyp = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const nodedir = process.env.npm_config_nodedir || prefix;
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
}
