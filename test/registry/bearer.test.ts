import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, pullImage, pushImage } from '../../src/registry/index.js';
import { tempDir } from '../helpers/tmp.js';
import { commandExists } from '../image/oci-helpers.js';
import { baseAndApp, freshEngine, treeOf } from './helpers.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';
import { type TokenServer, startTokenServer } from './token-server.js';

const login = { username: 'bearer-user', password: 'bearer-pass' };

describe.skipIf(registryMissing || !commandExists('openssl'))(`a registry with bearer-token auth (${INSTALL_HINT})`, () => {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-token-'));
    tokens = await startTokenServer(dir, login);
    registry = await startRegistry({ token: tokens });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function authFile(password = login.password): NodeJS.ProcessEnv {
    const file = path.join(tempDir(), 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${login.username}:${password}`).toString('base64') } } }));
    return { REGISTRY_AUTH_FILE: file };
  }

  it('push and pull get tokens for their scopes from the realm, with the login', async () => {
    const source = freshEngine();
    baseAndApp(source);
    const env = authFile();
    await pushImage(source.store, source.dir, source.image('base').layers, `${registry.host}/tok/base:1`, { env });
    // The second repository mounts the base layer: a token for both repositories.
    const app = await pushImage(source.store, source.dir, source.image('app').layers, `${registry.host}/tok/app:1`, { env });
    expect(app.mounted).toBe(1);
    expect(tokens.requests.some((request) => request.scope.includes('repository:tok/base:pull'))).toBe(true);
    const target = freshEngine();
    await pullImage(target, `${registry.host}/tok/app:1`, { tag: 'app', env });
    expect(treeOf(target, 'app')).toEqual(treeOf(source, 'app'));
    expect(tokens.requests.every((request) => request.user === login.username)).toBe(true);
  });

  it('a wrong password: EAUTH from the token service', async () => {
    const error = await pullImage(freshEngine(), `${registry.host}/tok/app:1`, { env: authFile('nope') }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('EAUTH');
    expect((error as Error).message).toMatch(/refused the login/);
  });
});
