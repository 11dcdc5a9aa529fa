import { type OciDigest, isOciDigest } from '../image/digest.js';

/**
 * An image reference as docker and podman take it: `[scheme://]host[:port]/repo/path[:tag][@digest]`.
 * A first component without a dot or a colon (and not `localhost`) is a Docker Hub name, as in
 * `alpine` (docker.io/library/alpine). A `http://` prefix asks for plain HTTP (see transport.ts).
 */
export interface ImageRef {
  /** `host[:port]`, as credentials files key it. */
  registry: string;
  /** The repository path: `library/alpine`. */
  repository: string;
  /** The tag, when no digest is given (default `latest`). */
  tag: string | undefined;
  digest: OciDigest | undefined;
  /** Asked for by a scheme prefix; undefined: chosen by the transport. */
  scheme: 'http' | 'https' | undefined;
}

const REPO_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::[0-9]{1,5})?$/;

export function parseRef(text: string): ImageRef {
  let rest = text;
  let scheme: ImageRef['scheme'];
  const prefix = /^(https?):\/\//.exec(rest);
  if (prefix) {
    scheme = prefix[1] as 'http' | 'https';
    rest = rest.slice(prefix[0].length);
  }
  let digest: OciDigest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const value = rest.slice(at + 1);
    if (!isOciDigest(value)) throw new TypeError(`${JSON.stringify(text)}: ${JSON.stringify(value)} is not a sha256 or sha512 digest`);
    digest = value;
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  const hasHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || scheme !== undefined);
  let registry = hasHost ? first : 'docker.io';
  let path = hasHost ? rest.slice(slash + 1) : rest;
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon !== -1) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw new TypeError(`${JSON.stringify(text)}: ${JSON.stringify(tag)} is not a valid tag`);
  }
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (!HOST.test(registry)) throw new TypeError(`${JSON.stringify(text)}: ${JSON.stringify(registry)} is not a registry host`);
  if (path === '' || !path.split('/').every((part) => REPO_PART.test(part))) {
    throw new TypeError(`${JSON.stringify(text)}: ${JSON.stringify(path)} is not a repository name (lower-case letters, digits, and . _ - between them, parts separated by /)`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  if (registry === 'docker.io') registry = 'registry-1.docker.io';
  return { registry, repository: path, tag, digest, scheme };
}

/** `host/repo:tag` or `host/repo@digest`, for messages. */
export function formatRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`;
}

/** Whether a registry host is this machine, where plain HTTP is allowed without --insecure. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
