import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry trusts tokens from (rootcertbundle). */
  certFile: string;
  /** Scopes asked for, one entry per token request. */
  requests: { scope: string[]; user: string | undefined }[];
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * A token service as docker's distribution token spec describes (docs/spec/auth/token.md): a
 * GET with `service` and `scope` and Basic credentials answers `{ token }`, a JWT signed with RS256
 * whose x5c header carries the certificate the registry has as its rootcertbundle.
 */
export async function startTokenServer(dir: string, login: { username: string; password: string }): Promise<TokenServer> {
  const key = path.join(dir, 'token-key.pem');
  const certFile = path.join(dir, 'token-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certFile, '-days', '2', '-subj', '/CN=layerfs-token'], { stdio: 'pipe' });
  const privateKey = fs.readFileSync(key, 'utf8');
  const der = new X509Certificate(fs.readFileSync(certFile)).raw;
  const service = 'layerfs-test';
  const issuer = 'layerfs-token-issuer';
  const requests: TokenServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://token');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, password] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(':') : [undefined, undefined];
    const scope = url.searchParams.getAll('scope');
    requests.push({ scope, user });
    if (user !== login.username || password !== login.password) return void res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    const now = Math.floor(Date.now() / 1000);
    const access = scope.flatMap((one) => one.split(' ')).map((one) => {
      const [type, name, actions] = one.split(':') as [string, string, string];
      return { type, name, actions: actions.split(',') };
    });
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user, aud: service, exp: now + 600, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(privateKey).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return { realm, service, issuer, certFile, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
