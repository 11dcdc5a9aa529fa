import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface Blob {
  bytes: Uint8Array;
  mediaType?: string;
}

/** Decides an answer before the default one; returns true when it answered. */
export type Hook = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean | Promise<boolean>;

/**
 * A registry that serves what a test puts in it, and misbehaves where a hook says so: the
 * real docker-registry never lies, stalls or redirects, so the hostile cases need this one.
 * Serves GET/HEAD of /v2/, manifests (by tag or digest) and blobs (with Range requests).
 */
export class FakeRegistry {
  readonly manifests = new Map<string, Blob>();
  readonly blobs = new Map<string, Blob>();
  readonly requests: { method: string; url: string; range?: string; authorization?: string }[] = [];
  hooks: Hook[] = [];
  private server!: http.Server;
  host = '';

  static async start(): Promise<FakeRegistry> {
    const fake = new FakeRegistry();
    fake.server = http.createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.host = `127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Serves the images of an OCI layout folder under `repo`: its blobs, and each index entry's manifest by its reference name. */
  addLayout(dir: string, repo: string): void {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] };
    const blobDir = path.join(dir, 'blobs', 'sha256');
    for (const name of fs.readdirSync(blobDir)) this.blobs.set(`${repo}@sha256:${name}`, { bytes: fs.readFileSync(path.join(blobDir, name)) });
    for (const entry of index.manifests) {
      const manifest = this.blobs.get(`${repo}@${entry.digest}`)!;
      const tag = entry.annotations?.['org.opencontainers.image.ref.name'] ?? 'latest';
      this.manifests.set(`${repo}:${tag}`, { bytes: manifest.bytes, mediaType: entry.mediaType });
      this.manifests.set(`${repo}@${entry.digest}`, { bytes: manifest.bytes, mediaType: entry.mediaType });
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url!, `http://${this.host}`);
    this.requests.push({ method: req.method!, url: url.pathname, ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    for (const hook of this.hooks) if (await hook(req, res, url)) return;
    if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match) return void res.writeHead(404).end();
    const [, repo, kind, ref] = match as unknown as [string, string, string, string];
    const found = kind === 'manifests' ? this.manifests.get(`${repo}${ref.includes(':') ? '@' : ':'}${ref}`) : this.blobs.get(`${repo}@${ref}`);
    if (!found) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'unknown' }] }));
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const headers: http.OutgoingHttpHeaders = { 'content-type': found.mediaType ?? 'application/octet-stream' };
    if (range && kind === 'blobs') {
      const start = Number(range[1]);
      const end = range[2] ? Number(range[2]) + 1 : found.bytes.length;
      res.writeHead(206, { ...headers, 'content-length': end - start, 'content-range': `bytes ${start}-${end - 1}/${found.bytes.length}` });
      return void res.end(req.method === 'HEAD' ? undefined : found.bytes.subarray(start, end));
    }
    res.writeHead(200, { ...headers, 'content-length': found.bytes.length });
    res.end(req.method === 'HEAD' ? undefined : found.bytes);
  }

  /** A hook passing every request it gets on to a real registry, answer and all. */
  static proxyTo(host: string): Hook {
    return (req, res) =>
      new Promise<boolean>((resolve) => {
        const upstream = http.request(`http://${host}${req.url}`, { method: req.method, headers: { ...req.headers, host } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          resolve(true);
        });
        upstream.on('error', () => {
          res.writeHead(502).end();
          resolve(true);
        });
        req.pipe(upstream);
      });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
