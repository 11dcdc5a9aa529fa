import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { cleanStaleMount } from '../fuse/index.js';
import { type Command, stringOption, UsageError } from './command.js';
import { isMountPoint } from './mountinfo.js';

export const umountCommand: Command = {
  name: 'umount',
  usage: 'MOUNTPOINT',
  summary: 'Unmount a container (or a --all mount): its daemon saves and exits.',
  description: 'A mount point left by a killed daemon is cleaned up too.',
  options: { timeout: { type: 'string', arg: 'SECONDS', help: 'how long to wait for the daemon to finish (default 30)' } },
  positionals: [1, 1],
  positionalNames: ['MOUNTPOINT'],
  async run(context, values, [given]) {
    const mountpoint = path.resolve(given!);
    const timeout = Number(stringOption(values, 'timeout') ?? '30');
    if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--timeout must be a positive number of seconds');
    if (await cleanStaleMount(mountpoint)) {
      context.out(`cleaned ${mountpoint}: its daemon had been killed (changes since its last save are lost)\n`);
      return;
    }
    const engine = context.engine();
    const holder = engine.mountHolder(mountpoint);
    if (!holder) {
      if (!isMountPoint(mountpoint)) throw new Error(`${mountpoint} is not mounted`);
      // A layerfs mount of another store, or one whose daemon left no lock: let FUSE undo it.
      await new Promise<void>((resolve, reject) =>
        execFile('fusermount', ['-u', mountpoint], (error, _out, stderr) => (error ? reject(new Error(`fusermount -u ${mountpoint} failed: ${stderr.trim() || error.message}`)) : resolve())),
      );
      context.out(`unmounted ${mountpoint}\n`);
      return;
    }
    process.kill(holder.pid, 'SIGTERM');
    const deadline = Date.now() + timeout * 1000;
    while (engine.mountHolder(mountpoint)) {
      if (Date.now() > deadline) {
        throw new Error(`pid ${holder.pid} did not finish unmounting ${mountpoint} within ${timeout} s; a program may still use it (fuser -vm ${mountpoint})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    context.out(`unmounted ${mountpoint}\n`);
  },
};
