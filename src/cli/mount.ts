import * as path from 'node:path';
import { type Command, type Context, UsageError, type Values, stringOption } from './command.js';
import { DAEMON_ENV, notifyParent, startDaemon } from './daemon.js';
import { type ServeOptions, type Serving, serveAll, serveContainer, serveDefaults } from './serve.js';

export const mountCommand: Command = {
  name: 'mount',
  usage: 'CONTAINER MOUNTPOINT | --all MOUNTPOINT',
  summary: 'Serve a container as a real directory through FUSE, until unmounted.',
  description: [
    'Runs in the foreground until Ctrl-C, SIGTERM or `layerfs umount MOUNTPOINT`; with --daemon it',
    'returns once the mount is live and serves in the background (log: STORE/logs/). Changes are',
    'saved on every fsync, every few seconds, and on unmount. A container is mounted by one process',
    'at a time. --all serves every container as MOUNTPOINT/<name>/ from one process.',
    '',
    'Example: mkdir -p /mnt/web && layerfs mount web /mnt/web --daemon',
  ].join('\n'),
  options: {
    all: { type: 'boolean', help: 'serve every container, each as MOUNTPOINT/<name>/' },
    daemon: { type: 'boolean', short: 'd', help: 'return once mounted; serve in the background' },
    'allow-other': { type: 'boolean', help: "let other users in (FUSE's allow_other; the default as root; others need user_allow_other in /etc/fuse.conf)" },
    nosuid: { type: 'boolean', help: 'ignore setuid and setgid bits (the default for users other than root)' },
    nodev: { type: 'boolean', help: 'refuse to open device files (the default for users other than root)' },
    'cache-seconds': { type: 'string', arg: 'SECONDS', help: 'how long the kernel trusts names and attributes (default 3600; 0: ask every time)' },
    'save-interval': { type: 'string', arg: 'SECONDS', help: 'seconds between saves of changes (default 5)' },
    debug: { type: 'boolean', help: 'log every FUSE request' },
    'verify-reads': { type: 'boolean', help: 'hash every chunk read, in the daemon (no FUSE passthrough)' },
  },
  positionals: [1, 2],
  positionalNames: ['CONTAINER', 'MOUNTPOINT'],
  async run(context, values, positionals) {
    const all = values.all === true;
    if (all && positionals.length !== 1) throw new UsageError('--all takes only MOUNTPOINT');
    if (!all && positionals.length !== 2) throw new UsageError('missing MOUNTPOINT');
    const name = all ? undefined : positionals[0]!;
    const mountpoint = path.resolve(positionals.at(-1)!);
    const options = serveOptions(context, values);
    if (values.daemon) {
      const logFile = path.join(context.storeDir, 'logs', `mount-${name ?? 'all'}.log`);
      const { pid } = await startDaemon(context.argv, logFile);
      context.out(`mounted ${name ?? 'all containers'} at ${mountpoint} (daemon pid ${pid}, log ${logFile}); unmount with: layerfs umount ${mountpoint}\n`);
      return;
    }
    const engine = context.engine();
    let serving: Serving;
    try {
      serving = name === undefined ? await serveAll(engine, mountpoint, options) : await serveContainer(engine, name, mountpoint, options);
    } catch (error) {
      if (process.env[DAEMON_ENV]) notifyParent({ error: (error as Error).message });
      throw error;
    }
    const stop = () => {
      serving.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          options.log(`layerfs: stopping failed: ${(error as Error).message}`);
          process.exit(1);
        },
      );
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
    // Unmounted by umount(8) or fusermount -u: save, let go of the locks and exit all the same.
    void serving.closed?.then(stop);
    if (process.env[DAEMON_ENV]) {
      options.log(`layerfs: serving ${name ?? 'all containers'} at ${mountpoint} (pid ${process.pid})`);
      notifyParent({ ready: true, pid: process.pid });
    } else {
      context.out(`mounted ${name ?? 'all containers'} at ${mountpoint}; Ctrl-C or \`layerfs umount ${mountpoint}\` unmounts\n`);
    }
    // Serve until a signal: the FUSE session keeps the event loop alive.
    await new Promise<never>(() => {});
  },
};

/** serveDefaults, changed by the flags: --nosuid and --nodev opt out of what root gets. */
function serveOptions(context: Context, values: Values): ServeOptions {
  const defaults = serveDefaults((line) => context.err(`${new Date().toISOString()} ${line}\n`));
  return {
    ...defaults,
    allowOther: defaults.allowOther || values['allow-other'] === true,
    suid: defaults.suid && values.nosuid !== true,
    dev: defaults.dev && values.nodev !== true,
    cacheSeconds: seconds(values, 'cache-seconds', defaults.cacheSeconds, { zero: true }),
    debug: values.debug === true,
    verifyReads: values['verify-reads'] === true,
    saveSeconds: seconds(values, 'save-interval', defaults.saveSeconds, { zero: false }),
  };
}

function seconds(values: Values, name: string, fallback: number, allow: { zero: boolean }): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (value === 0 && !allow.zero)) {
    throw new UsageError(`--${name} must be a ${allow.zero ? 'non-negative' : 'positive'} number of seconds, not ${JSON.stringify(text)}`);
  }
  return value;
}
