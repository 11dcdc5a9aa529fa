#!/usr/bin/env node
/**
 * The `layerfs` command: images and containers in a store folder, mounted through FUSE. Each
 * subcommand is its own file; this one picks the store, dispatches, and turns errors into
 * messages and exit codes (0 ok, 1 the operation failed, 2 the command line was wrong).
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../container/index.js';
import { lazyReads } from '../registry/index.js';
import { type Command, type Context, EXIT, UsageError, commandHelp, parseCommandArgs } from './command.js';
import { commitCommand } from './commit.js';
import { createCommand } from './create.js';
import { dfCommand } from './df.js';
import { diffCommand } from './diff.js';
import { exportCommand } from './export.js';
import { forkCommand } from './fork.js';
import { gcCommand } from './gc.js';
import { imagesCommand } from './images.js';
import { importCommand } from './import.js';
import { mountCommand } from './mount.js';
import { runOverlay } from './overlay.js';
import { psCommand } from './ps.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmCommand } from './rm.js';
import { rmiCommand } from './rmi.js';
import { umountCommand } from './umount.js';
import { verifyCommand } from './verify.js';

const COMMANDS: readonly Command[] = [
  importCommand,
  imagesCommand,
  createCommand,
  psCommand,
  mountCommand,
  umountCommand,
  diffCommand,
  commitCommand,
  exportCommand,
  pushCommand,
  pullCommand,
  forkCommand,
  rmCommand,
  rmiCommand,
  dfCommand,
  gcCommand,
  verifyCommand,
];

/** The store folder: --store, else $LAYERFS_STORE, else the XDG data folder. */
function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAYERFS_STORE) return env.LAYERFS_STORE;
  const data = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'layerfs');
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'layerfs: images and containers as layered copy-on-write directories',
    '',
    'Usage: layerfs [--store DIR] COMMAND [ARGS...]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    `  ${'overlay'.padEnd(width)}  Serve overlay-format directories as fuse-overlayfs does (layerfs overlay --help).`,
    '',
    'Options:',
    '  --store DIR   the store folder (default: $LAYERFS_STORE, else ${XDG_DATA_HOME:-~/.local/share}/layerfs)',
    '  -h, --help    show this help',
    '  --version     print the version',
    '',
    "Run 'layerfs COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

function version(): string {
  for (const up of ['../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(fileURLToPath(new URL(up, import.meta.url)), 'utf8')) as { version: string }).version;
    } catch {
      // Bundled (dist/cli/main.js) or from source (src/cli/main.ts): one of the two exists.
    }
  }
  return 'unknown';
}

/** Runs one command line (without the program name); returns the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const out = (text: string) => void process.stdout.write(text);
  const err = (text: string) => void process.stderr.write(text);
  // Global options may come before the command; the command's own parser sees the rest.
  let at = 0;
  let store: string | undefined;
  for (; at < argv.length; at++) {
    const arg = argv[at]!;
    if (arg === '--store') store = argv[++at];
    else if (arg.startsWith('--store=')) store = arg.slice('--store='.length);
    else break;
  }
  const first = argv[at];
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    (first === undefined ? err : out)(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version') {
    out(`layerfs ${version()}\n`);
    return EXIT.ok;
  }
  // fuse-overlayfs's command line, not this CLI's: `-o lowerdir=...` and mount.fuse3's order.
  if (first === 'overlay') return runOverlay(argv.slice(at + 1), err, argv.slice(0, at + 1));
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (!command) {
    const known = COMMANDS.map((candidate) => candidate.name).join(', ');
    err(`layerfs: unknown command ${JSON.stringify(first)}; the commands are ${known} (layerfs --help explains them)\n`);
    return EXIT.usage;
  }
  let engine: Engine | undefined;
  try {
    const { values, positionals } = parseCommandArgs(command, argv.slice(at + 1));
    if (values.help) {
      out(commandHelp(command));
      return EXIT.ok;
    }
    if (typeof values.store === 'string') store = values.store;
    if (store === '') throw new UsageError('--store needs a folder');
    const storeDir = path.resolve(store ?? defaultStoreDir());
    const context: Context = {
      storeDir,
      // A store holding lazily pulled images reads their missing chunks from the registry.
      engine: () => (engine ??= Engine.open(storeDir, { reads: lazyReads(storeDir) })),
      out,
      err,
      argv,
    };
    return (await command.run(context, values, positionals)) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`layerfs ${command.name}: ${error.message}\nUsage: layerfs ${command.name} ${command.usage}\nRun 'layerfs ${command.name} --help' for more.\n`);
      return EXIT.usage;
    }
    err(`layerfs: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.LAYERFS_DEBUG) err(`${(error as Error).stack}\n`);
    return EXIT.failure;
  }
}

// Quiet when a reader such as `head` closes the pipe early.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
