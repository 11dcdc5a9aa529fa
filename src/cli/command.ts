import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Engine } from '../container/index.js';

/** Exit codes: what a script can branch on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the command was called: exit code 2, with the usage line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help: `--tag NAME`. */
  arg?: string;
  help: string;
}

export interface Context {
  /** The store folder (from --store, $LAYERFS_STORE or the default). */
  readonly storeDir: string;
  /** Opens the store on first use, so `--help` and usage errors never touch the disk. */
  engine(): Engine;
  out(text: string): void;
  err(text: string): void;
  /** The command line after the program name, as given (the mount daemon re-runs it). */
  readonly argv: readonly string[];
}

export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  /** `IMAGE --name NAME`: what follows `layerfs <name>`. */
  usage: string;
  summary: string;
  /** More lines for --help: what it does, and an example. */
  description: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes. */
  positionals: readonly [min: number, max: number];
  /** The positionals' names, for the message when some are missing. */
  positionalNames: readonly string[];
  run(context: Context, values: Values, positionals: string[]): Promise<number | void> | number | void;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  store: { type: 'string', arg: 'DIR', help: 'the store folder (default: $LAYERFS_STORE, else ${XDG_DATA_HOME:-~/.local/share}/layerfs)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** The JSON option of commands whose output a script would read. */
export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print JSON instead of a table' },
};

/** Parses a command's arguments; every problem is a UsageError. */
export function parseCommandArgs(command: Command, args: string[]): { values: Values; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries({ ...COMMON_OPTIONS, ...command.options })) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message.split('\n')[0]!);
    throw error;
  }
  if (parsed.values.help) return parsed;
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min) {
    throw new UsageError(`missing ${command.positionalNames.slice(parsed.positionals.length, min).join(' ')}`);
  }
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  return parsed;
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: layerfs ${command.name} ${command.usage}`.trimEnd(), '', command.summary];
  if (command.description) lines.push('', command.description);
  lines.push('', 'Options:');
  const entries = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.arg ? ` ${spec.arg}` : ''}`;
    return [flag, spec.help] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  for (const [flag, help] of entries) lines.push(`  ${flag.padEnd(width)}  ${help}`);
  return `${lines.join('\n')}\n`;
}

/** A string option the parser guarantees to be a string or absent. */
export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A string option that must be given. */
export function requiredOption(values: Values, name: string, arg: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value === '') throw new UsageError(`missing --${name} ${arg}`);
  return value;
}
