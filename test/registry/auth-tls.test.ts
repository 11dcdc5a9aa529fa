import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, pullImage, pushImage } from '../../src/registry/index.js';
import { layerfs } from '../cli/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { commandExists } from '../image/oci-helpers.js';
import { baseAndApp, folder, freshEngine, treeOf } from './helpers.js';
import { INSTALL_HINT, type RunningRegistry, registryMissing, startRegistry } from './registry-server.js';

const tools = !registryMissing && commandExists('htpasswd') && commandExists('openssl');
const login = { username: 'tester', password: 'secret-pass' };

describe.skipIf(!tools)(`a registry with htpasswd auth and a self-signed certificate (${INSTALL_HINT})`, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ login, tls: true });
  });
  afterAll(() => registry?.stop());

  const env = () => ({ REGISTRY_AUTH_FILE: registry.authFile! });

  it('push and pull with the login from $REGISTRY_AUTH_FILE and the CA from --ca-file', async () => {
    const source = freshEngine();
    baseAndApp(source);
    await pushImage(source.store, source.dir, source.image('app').layers, `${registry.host}/secure/app:1`, { caFile: registry.caFile!, env: env() });
    const target = freshEngine();
    await pullImage(target, `${registry.host}/secure/app:1`, { tag: 'app', caFile: registry.caFile!, env: env() });
    expect(treeOf(target, 'app')).toEqual(treeOf(source, 'app'));
  });

  it('the login is also found in ~/.docker/config.json', async () => {
    const home = tempDir();
    fs.mkdirSync(path.join(home, '.docker'));
    fs.copyFileSync(registry.authFile!, path.join(home, '.docker', 'config.json'));
    const source = freshEngine();
    baseAndApp(source);
    await pushImage(source.store, source.dir, source.image('base').layers, `${registry.host}/secure/home:1`, { caFile: registry.caFile!, env: { HOME: home } });
  });

  it('without a login: EAUTH saying how to log in', async () => {
    const engine = freshEngine();
    const error = await pullImage(engine, `${registry.host}/secure/app:1`, { caFile: registry.caFile!, env: { HOME: tempDir() } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('EAUTH');
    expect((error as Error).message).toMatch(/needs a login.*REGISTRY_AUTH_FILE/);
  });

  it('a wrong password: EAUTH naming the user', async () => {
    const file = path.join(tempDir(), 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('tester:wrong').toString('base64') } } }));
    const error = await pullImage(freshEngine(), `${registry.host}/secure/app:1`, { caFile: registry.caFile!, env: { REGISTRY_AUTH_FILE: file } }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('EAUTH');
    expect((error as Error).message).toMatch(/refused the login .*user tester/);
  });

  it('an untrusted certificate: ETLS pointing at --ca-file; --insecure connects anyway', async () => {
    const error = await pullImage(freshEngine(), `${registry.host}/secure/app:1`, { env: env(), retries: 0 }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('ETLS');
    expect((error as Error).message).toMatch(/--ca-file/);
    const engine = freshEngine();
    await pullImage(engine, `${registry.host}/secure/app:1`, { tag: 'app', insecure: true, env: env() });
    expect(engine.images().map((image) => image.name)).toEqual(['app']);
  });

  it('the CLI: push a container, pull it back with --tag, with --ca-file and the auth file', async () => {
    const store = path.join(tempDir(), 'store');
    const run = (...args: string[]) => layerfs(['--store', store, ...args], env());
    expect((await run('import', folder({ 'etc/hostname': 'box\n' }), '--tag', 'base')).status).toBe(0);
    expect((await run('create', 'base', '--name', 'box')).status).toBe(0);
    const pushed = await run('push', 'box', `${registry.host}/secure/box:1`, '--ca-file', registry.caFile!);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toMatch(/pushed box to .*: 2 layers uploaded/);
    const pulled = await run('pull', `${registry.host}/secure/box:1`, '--tag', 'copy', '--ca-file', registry.caFile!);
    expect(pulled.stdout).toMatch(/pulled copy: 2 layers/);
    const again = await run('pull', `${registry.host}/secure/box:1`, '--tag', 'copy', '--ca-file', registry.caFile!);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/image copy exists/);
    const bad = await run('pull', `${registry.host}/secure/box:1`, '--timeout', 'soon');
    expect(bad.status).toBe(2);
  });
});
