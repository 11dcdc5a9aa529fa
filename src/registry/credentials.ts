import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryError } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The files podman and docker keep logins in, in the order they are read: $REGISTRY_AUTH_FILE
 * (podman's override), podman's ${XDG_RUNTIME_DIR}/containers/auth.json, then docker's
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json. All share one shape:
 * `{ "auths": { "host:port": { "auth": base64("user:password") } } }`.
 */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  const files: string[] = [];
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker'), 'config.json'));
  return files;
}

/** The login for a registry host, from the first auth file that has one; undefined when none does. */
export function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  for (const file of authFiles(env)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      // A named file that is missing is a mistake worth saying; the default places may be absent.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !env.REGISTRY_AUTH_FILE) continue;
      throw new RegistryError('EAUTH', `cannot read the credentials file ${file}: ${(error as Error).message}`, { cause: error });
    }
    const found = fromAuthJson(text, registry, file);
    if (found) return found;
  }
  return undefined;
}

function fromAuthJson(text: string, registry: string, file: string): Credentials | undefined {
  let json: { auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown }> };
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryError('EAUTH', `credentials file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const auths = json?.auths ?? {};
  // docker writes some keys as URLs (https://index.docker.io/v1/); podman writes host[:port].
  const entry = Object.entries(auths).find(([key]) => hostOfKey(key) === registry || (registry === 'registry-1.docker.io' && hostOfKey(key) === 'index.docker.io'))?.[1];
  if (!entry) return undefined;
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string') return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new RegistryError('EAUTH', `credentials file ${file}: the auth of ${registry} is not base64 of user:password`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function hostOfKey(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}
