import { type Credentials, findCredentials } from './credentials.js';
import { RegistryError } from './errors.js';
import type { Response, Transport } from './transport.js';

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/**
 * Answers a registry's `WWW-Authenticate` challenges, as the distribution token spec describes:
 * Basic sends the login from the auth files; Bearer asks the realm for a token for the scope
 * (`repository:NAME:pull,push`), with the login when there is one (anonymous otherwise), and
 * caches it per scope. The first 401 teaches the scheme; later requests carry it up front.
 */
export class Auth {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, string>();
  private credentials: Credentials | undefined | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The Authorization header for a request needing `scope`, if one is known. */
  header(scope: string): string | undefined {
    if (this.challenge?.scheme === 'basic') return this.basic();
    const token = this.tokens.get(scope);
    return token ? `Bearer ${token}` : undefined;
  }

  /**
   * Learns from a 401: true when a new Authorization header is ready to retry with. A second 401
   * with credentials already sent is a refusal: EAUTH naming where the login came from.
   */
  async answer(res: Response, scope: string, sent: string | undefined): Promise<boolean> {
    const challenge = parseChallenge(res.headers['www-authenticate']);
    if (!challenge) throw new RegistryError('EAUTH', `${this.transport.registry} answered 401 without a challenge layerfs understands (${res.headers['www-authenticate'] ?? 'no WWW-Authenticate'})`);
    this.challenge = challenge;
    const login = this.login();
    if (challenge.scheme === 'basic') {
      if (!login) throw this.noLogin();
      if (sent === this.basic()) throw this.refused();
      return true;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError('EAUTH', `${this.transport.registry} asked for a bearer token without naming a realm`);
    if (sent !== undefined && sent === this.header(scope) && (challenge.params.error === 'insufficient_scope' || !this.login())) throw this.refused();
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const part of scope.split(' ')) url.searchParams.append('scope', part);
    const tokenRes = await this.transport.send({ method: 'GET', url: url.href }, () => (login ? this.basic() : undefined));
    const text = await readText(tokenRes, 1024 * 1024);
    if (tokenRes.status === 401 || tokenRes.status === 403) throw this.refused();
    if (tokenRes.status !== 200) throw new RegistryError('EAUTH', `the token service ${url.origin} answered ${tokenRes.status}: ${text.slice(0, 200)}`);
    let token: unknown;
    try {
      const json = JSON.parse(text) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') throw new RegistryError('EAUTH', `the token service ${url.origin} answered without a token`);
    this.tokens.set(scope, token);
    return true;
  }

  private login(): Credentials | undefined {
    if (this.credentials === null) this.credentials = findCredentials(this.transport.registry, this.env);
    return this.credentials;
  }

  private basic(): string | undefined {
    const login = this.login();
    return login ? `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}` : undefined;
  }

  private noLogin(): RegistryError {
    return new RegistryError('EAUTH', `${this.transport.registry} needs a login and none was found; log in (podman login ${this.transport.registry}) or name an auth file with $REGISTRY_AUTH_FILE`);
  }

  private refused(): RegistryError {
    const who = this.login() ? `the login for ${this.transport.registry} (user ${this.login()!.username})` : 'anonymous access';
    return new RegistryError('EAUTH', `${this.transport.registry} refused ${who}; check the credentials in $REGISTRY_AUTH_FILE or ~/.docker/config.json`);
  }
}

function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const param of match[2]!.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[param[1]!.toLowerCase()] = param[2]?.replace(/\\(.)/g, '$1') ?? param[3] ?? '';
  return { scheme, params };
}

/** A small answer's body as text, refusing more than `max` bytes. */
export async function readText(res: Response, max: number): Promise<string> {
  return Buffer.from(await readBody(res, max, 'answer')).toString('utf8');
}

/** A body held whole, up to `max` bytes (checked against Content-Length first, then as it arrives). */
export async function readBody(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw new RegistryError('ELIMIT', `${what} is ${declared} bytes, more than the ${max} allowed`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      res.body.destroy();
      throw new RegistryError('ELIMIT', `${what} is more than the ${max} bytes allowed`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
