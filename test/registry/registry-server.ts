import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as os from 'node:os';

/** Debian's docker-registry (distribution 2.8); the tests that need it say how to install it. */
export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const registryMissing = !fs.existsSync(REGISTRY_BINARY);
export const INSTALL_HINT = 'install Debian\'s docker-registry and skopeo (apt-get install docker-registry skopeo apache2-utils openssl)';

export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Where the registry keeps its files. */
  root: string;
  /** The registry's log so far (its access log lists every request). */
  log(): string;
  /**
   * The log once it holds every request answered so far. The registry writes a request's line
   * after its answer is sent, so a client can be done before the line is there: this sends a
   * marked request, waits for its line, then a moment more for lines written in parallel.
   */
  settledLog(): Promise<string>;
  /** The CA file to trust (TLS registries). */
  caFile?: string;
  /** An auth file holding the login (htpasswd registries). */
  authFile?: string;
  stop(): Promise<void>;
}

export interface RegistrySetup {
  /** htpasswd auth with this login. */
  login?: { username: string; password: string };
  /** A self-signed certificate for 127.0.0.1. */
  tls?: boolean;
  /** Bearer tokens from this token service (see token-server.ts). */
  token?: { realm: string; service: string; issuer: string; certFile: string };
}

/** A free TCP port on loopback (bound and released: the registry binds it right after). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a registry on a free loopback port with a config written here: filesystem storage in a temp folder. */
export async function startRegistry(setup: RegistrySetup = {}): Promise<RunningRegistry> {
  // Its own folder, not tempDir(): that one is emptied after each test, the registry lives for a suite.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-registry-'));
  const root = path.join(dir, 'data');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    // As Debian's packaged config (/etc/docker/registry/config.yml): blob descriptors cached in
    // memory, not read from the repository's link files on every request.
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ];
  let caFile: string | undefined;
  let authFile: string | undefined;
  if (setup.tls) {
    const key = path.join(dir, 'key.pem');
    caFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    lines.push('  tls:', `    certificate: ${caFile}`, `    key: ${key}`);
  }
  if (setup.login) {
    const htpasswd = path.join(dir, 'htpasswd');
    fs.writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', setup.login.username, setup.login.password]));
    lines.push('auth:', '  htpasswd:', '    realm: layerfs-test', `    path: ${htpasswd}`);
    authFile = path.join(dir, 'auth.json');
    const auth = Buffer.from(`${setup.login.username}:${setup.login.password}`).toString('base64');
    fs.writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth } } }));
  }
  if (setup.token) {
    const { realm, service, issuer, certFile } = setup.token;
    lines.push('auth:', '  token:', `    realm: ${realm}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${certFile}`);
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, `${lines.join('\n')}\n`);
  // The log goes to a file, not a pipe: a reader blocked in synchronous I/O (a lazy read through
  // a mount) would stop draining a pipe, and the registry would stall on its next log line.
  const logFile = path.join(dir, 'registry.log');
  const logFd = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const output = () => fs.readFileSync(logFile, 'utf8');
  let settles = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, output, child);
  return {
    host,
    root,
    log: output,
    async settledLog() {
      if (setup.tls) throw new Error('settledLog() asks over plain http');
      const marker = `settle-${++settles}`;
      await fetch(`http://${host}/v2/?${marker}`).then((answer) => answer.arrayBuffer());
      const deadline = Date.now() + 10_000;
      while (!output().includes(marker)) {
        if (Date.now() > deadline) throw new Error(`the registry never logged ${marker}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      return output();
    },
    ...(caFile ? { caFile } : {}),
    ...(authFile ? { authFile } : {}),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, output: () => string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not listen on port ${port}: ${output()}`);
}
