/**
 * Child process for the lock race test: waits until GO_FILE exists, then tries once to take the
 * lock file (no store lock around it: the bare takeover is what races) and prints `won` or
 * `lost`; a winner holds the lock until killed.
 */
import * as fs from 'node:fs';
import { LockFile } from '../../../src/container/lock-file.js';

const [file, go] = process.argv.slice(2);
if (!file || !go) throw new Error('usage: race-lock.ts <lock file> <go file>');
process.stdout.write('ready\n');
while (!fs.existsSync(go)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
const got = LockFile.tryAcquire(file, { what: 'mounted' });
process.stdout.write(got instanceof LockFile ? 'won\n' : 'lost\n');
if (got instanceof LockFile) setInterval(() => {}, 1 << 30);
