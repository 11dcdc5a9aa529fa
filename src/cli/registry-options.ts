import type { ClientOptions } from '../registry/index.js';
import { type OptionSpec, UsageError, type Values, stringOption } from './command.js';

/** Options push and pull share: how to reach the registry. */
export const REGISTRY_OPTIONS: Record<string, OptionSpec> = {
  'ca-file': { type: 'string', arg: 'FILE', help: 'trust the CA certificates in this PEM file too (a registry\'s own CA)' },
  insecure: { type: 'boolean', help: 'skip TLS verification and allow plain http (test registries only)' },
  timeout: { type: 'string', arg: 'SECONDS', help: 'give up on a request silent this long, then retry (default 30)' },
  retries: { type: 'string', arg: 'N', help: 'retries of a failed request, with backoff (default 4)' },
};

export function registryOptions(values: Values): ClientOptions {
  const options: ClientOptions = {};
  const caFile = stringOption(values, 'ca-file');
  if (caFile !== undefined) options.caFile = caFile;
  if (values.insecure === true) options.insecure = true;
  const timeout = stringOption(values, 'timeout');
  if (timeout !== undefined) {
    const seconds = Number(timeout);
    if (!(seconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds, not ${JSON.stringify(timeout)}`);
    options.timeoutMs = seconds * 1000;
  }
  const retries = stringOption(values, 'retries');
  if (retries !== undefined) {
    const count = Number(retries);
    if (!Number.isInteger(count) || count < 0) throw new UsageError(`--retries must be a whole number, not ${JSON.stringify(retries)}`);
    options.retries = count;
  }
  return options;
}

/** `--platform OS/ARCH[/VARIANT]`, when given. */
export function platformOption(values: Values): { os: string; architecture: string; variant?: string } | undefined {
  const text = stringOption(values, 'platform');
  if (text === undefined) return undefined;
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new UsageError(`--platform must be OS/ARCH[/VARIANT] (linux/amd64), not ${JSON.stringify(text)}`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}
