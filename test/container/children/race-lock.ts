/**
 * Child process for the lock race test: for each round r up to ROUNDS, waits until `GO-r` exists,
 * tries once to take the lock file (no store lock around it: the bare takeover is what races) and
 * prints `r won` or `r lost`. It never lets go: the test makes the lock stale again between rounds
 * by writing a dead holder over it, and kills the racers at the end.
 */
import * as fs from 'node:fs';
import { LockFile } from '../../../src/container/lock-file.js';

const [file, go, rounds = '1'] = process.argv.slice(2);
if (!file || !go) throw new Error('usage: race-lock.ts <lock file> <go file prefix> [rounds]');
process.stdout.write('ready\n');
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let round = 1; round <= Number(rounds); round++) {
  while (!fs.existsSync(`${go}-${round}`)) Atomics.wait(pause, 0, 0, 1);
  const got = LockFile.tryAcquire(file, { what: 'mounted' });
  process.stdout.write(`${round} ${got instanceof LockFile ? 'won' : 'lost'}\n`);
}
setInterval(() => {}, 1 << 30);
