/** Child process: takes a container's lock, prints `locked`, and holds it until killed. */
import { Engine } from '../../../src/index.js';

const [dir, name] = process.argv.slice(2);
if (!dir || !name) throw new Error('usage: hold-lock.ts <store> <container>');
Engine.open(dir).lock(name, { what: 'mounted' });
process.stdout.write('locked\n');
setInterval(() => {}, 1 << 30);
