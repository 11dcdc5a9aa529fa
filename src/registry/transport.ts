import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './errors.js';
import { isLoopback } from './reference.js';

export interface TransportOptions {
  /** A PEM file of CA certificates to trust besides the system's (a registry's own CA). */
  caFile?: string;
  /** Skip TLS verification, and allow plain HTTP to a registry that is not on loopback. */
  insecure?: boolean;
  /** A request (or a read of its body) silent this long fails and is retried (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first, for network errors and 408/429/5xx answers (default 4). */
  retries?: number;
  /** The first wait before a retry, doubled each time (default 250 ms). */
  backoffMs?: number;
}

export interface Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path on the registry (`/v2/...`) or an absolute URL (an upload's Location). */
  url: string;
  headers?: Record<string, string>;
  /** A body held whole, so a retry can send it again. */
  body?: Uint8Array;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Where the answer came from, after redirects (for relative Location headers). */
  url: URL;
  body: http.IncomingMessage;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);
const MAX_REDIRECTS = 5;
/** TLS errors that mean "this server speaks plain HTTP". */
const NOT_TLS = new Set(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/**
 * HTTP to one registry: the scheme (https; plain http only for loopback, an explicit http://, or
 * --insecure, found by falling back when the server does not speak TLS, as docker does for
 * insecure registries), TLS trust (system CAs plus --ca-file), timeouts, retries with
 * exponential backoff (honouring Retry-After), and redirects. A redirect to another host is
 * followed, as blob downloads from S3-backed registries need, but never carries the registry's
 * credentials; a redirect from https to http, or past five hops, is refused.
 */
export class Transport {
  readonly registry: string;
  private scheme: 'http' | 'https' | undefined;
  private readonly mayFallBack: boolean;
  private readonly tlsOptions: https.AgentOptions;
  private readonly agents: { http: http.Agent; https: https.Agent };
  readonly timeoutMs: number;
  readonly retries: number;
  private readonly backoffMs: number;

  constructor(registry: string, scheme: 'http' | 'https' | undefined, options: TransportOptions = {}) {
    this.registry = registry;
    const plainAllowed = isLoopback(registry) || options.insecure === true;
    if (scheme === 'http' && !plainAllowed) {
      throw new RegistryError('ETLS', `${registry} is not on this machine: plain http:// is refused unless --insecure is given (credentials and images would travel in clear)`);
    }
    this.scheme = scheme;
    this.mayFallBack = scheme === undefined && plainAllowed;
    this.tlsOptions = { rejectUnauthorized: options.insecure !== true };
    if (options.caFile) {
      let pem: string;
      try {
        pem = fs.readFileSync(options.caFile, 'utf8');
      } catch (error) {
        throw new RegistryError('ETLS', `cannot read the CA file ${options.caFile}: ${(error as Error).message}`, { cause: error });
      }
      this.tlsOptions.ca = [...tls.rootCertificates, pem];
    }
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 8 }), https: new https.Agent({ keepAlive: true, maxSockets: 8, ...this.tlsOptions }) };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
  }

  /** `https://host` or `http://host`, once known. */
  async origin(): Promise<string> {
    if (this.scheme) return `${this.scheme}://${this.registry}`;
    try {
      const res = await this.once({ method: 'GET', url: `https://${this.registry}/v2/` });
      res.body.resume();
      this.scheme = 'https';
    } catch (error) {
      if (!this.mayFallBack || !NOT_TLS.has((error as NodeJS.ErrnoException).code ?? '')) throw this.networkError(error, 'GET /v2/', 1);
      this.scheme = 'http';
    }
    return `${this.scheme}://${this.registry}`;
  }

  /** One request with retries; `authorization` is asked for each attempt (a token may be renewed). */
  async send(request: Request, authorization: () => string | undefined = () => undefined): Promise<Response> {
    const base = await this.origin();
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.follow({ ...request, url: new URL(request.url, base).href }, authorization());
      } catch (error) {
        if (error instanceof RegistryError || attempt >= this.retries || !isRetryable(error)) throw this.networkError(error, `${request.method} ${request.url}`);
        await sleep(this.backoffMs * 2 ** attempt);
        continue;
      }
      if (!RETRY_STATUS.has(res.status) || attempt >= this.retries) return res;
      res.body.resume();
      await sleep(Math.min(10_000, retryAfterMs(res.headers['retry-after']) ?? this.backoffMs * 2 ** attempt));
    }
  }

  /** Waits before another attempt of work the caller repeats itself (a broken body read). */
  backoff(attempt: number): Promise<void> {
    return sleep(this.backoffMs * 2 ** attempt);
  }

  /** A network error (ECONNRESET, a timeout) worth another try, rather than a refusal. */
  isRetryable(error: unknown): boolean {
    return isRetryable(error);
  }

  private async follow(request: Request, authorization: string | undefined): Promise<Response> {
    let url = new URL(request.url);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const headers = { ...request.headers };
      // Credentials go to the registry only, never to the host a redirect names.
      if (authorization && url.origin === origin) headers.authorization = authorization;
      const res = await this.once({ ...request, url: url.href, headers });
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || (request.method !== 'GET' && request.method !== 'HEAD')) return res;
      res.body.resume();
      const next = new URL(location, url);
      if (hop === MAX_REDIRECTS) throw new RegistryError('EPROTOCOL', `${this.registry}: ${request.method} ${request.url} redirected more than ${MAX_REDIRECTS} times`);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RegistryError('EPROTOCOL', `${this.registry}: ${request.url} redirects to ${next.href}, which is not http(s)`);
      if (url.protocol === 'https:' && next.protocol === 'http:') throw new RegistryError('EPROTOCOL', `${this.registry}: ${request.url} redirects from https to plain http (${next.href}); refused`);
      url = next;
    }
  }

  /** One HTTP exchange; the answer's body is left to the caller, with the idle timeout still on. */
  private once(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const lib = secure ? https : http;
    const sameHost = url.host === this.registry;
    // Another host (a redirect target) gets its own connections, with the same trust settings.
    const agent = sameHost ? (secure ? this.agents.https : this.agents.http) : undefined;
    const headers: Record<string, string> = { 'user-agent': 'layerfs', ...request.headers };
    if (request.body) headers['content-length'] = String(request.body.length);
    else if (request.method === 'PUT' || request.method === 'POST' || request.method === 'PATCH') headers['content-length'] = '0';
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method: request.method, headers, agent, ...(secure && !agent ? this.tlsOptions : {}) }, (body) => {
        resolve({ status: body.statusCode ?? 0, headers: body.headers, url, body });
      });
      req.setTimeout(this.timeoutMs, () => {
        const error = Object.assign(new Error(`no answer from ${url.host} for ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
        req.destroy(error);
      });
      req.on('error', reject);
      req.end(request.body);
    });
  }

  private networkError(error: unknown, what: string, attempts = this.retries + 1): Error {
    if (error instanceof RegistryError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code)) {
      return new RegistryError('ETLS', `${this.registry}: TLS failed (${(error as Error).message}); trust its CA with --ca-file FILE, or use --insecure for a test registry`, { cause: error });
    }
    return new RegistryError('ENETWORK', `${this.registry}: ${what} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${(error as Error).message}`, { cause: error });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && RETRY_ERRORS.has(code)) || /socket hang up|aborted/i.test((error as Error).message ?? '');
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
