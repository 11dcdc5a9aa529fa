import { type OciDigest, Tally, isOciDigest } from '../image/digest.js';
import { Auth, readBody, readText } from './auth.js';
import { RegistryError } from './errors.js';
import { type Request, type Response, Transport, type TransportOptions } from './transport.js';

export interface ClientOptions extends TransportOptions {
  /** Where credentials are looked up ($REGISTRY_AUTH_FILE, HOME, ...); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  /** From Content-Type (or the document's own mediaType). */
  mediaType: string;
  digest: OciDigest;
}

/** The largest manifest or index taken, as containerd and the distribution spec suggest. */
export const MAX_MANIFEST = 4 * 1024 * 1024;

/** Every manifest type layerfs reads, for the Accept header. */
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * The OCI distribution API (v2) for one registry: manifests by tag or digest, blobs by digest
 * (whole, resumed with a Range request after a broken connection, or a byte range), uploads
 * (monolithic for small blobs, chunked PATCHes for streams, cross-repository mounts). Every
 * digest is checked here or by the caller that streams the bytes; errors name the blob.
 */
export class RegistryClient {
  readonly registry: string;
  readonly transport: Transport;
  private readonly auth: Auth;

  constructor(registry: string, scheme: 'http' | 'https' | undefined, options: ClientOptions = {}) {
    this.registry = registry;
    this.transport = new Transport(registry, scheme, options);
    this.auth = new Auth(this.transport, options.env);
  }

  close(): void {
    this.transport.close();
  }

  /** Sends with the scope's credentials, answering one challenge (401) and sending again. */
  async call(request: Request, scope: string): Promise<Response> {
    let sent: string | undefined;
    for (let round = 0; ; round++) {
      const res = await this.transport.send(request, () => (sent = this.auth.header(scope)));
      if (res.status !== 401 || round === 2) return res;
      res.body.resume();
      await this.auth.answer(res, scope, sent);
    }
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `${this.registry}/${repository}: manifest ${reference}`;
    const res = await this.call({ method: 'GET', url: `/v2/${repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT } }, pullScope(repository));
    if (res.status !== 200) throw await statusError(res, what);
    let bytes: Uint8Array;
    try {
      bytes = await readBody(res, MAX_MANIFEST, what);
    } catch (error) {
      throw retag(error, what);
    }
    const tally = new Tally(isOciDigest(reference) ? reference : 'sha256');
    tally.add(bytes);
    const digest = tally.digest();
    // By digest, the bytes must be those; by tag, the registry's own statement is checked.
    const stated = isOciDigest(reference) ? reference : res.headers['docker-content-digest'];
    if (typeof stated === 'string' && isOciDigest(stated) && stated.split(':')[0] === digest.split(':')[0] && stated !== digest) {
      throw new RegistryError('EDIGEST', `${what} has digest ${digest}, not the ${stated} the registry states`);
    }
    const mediaType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { bytes, mediaType, digest };
  }

  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<void> {
    const what = `${this.registry}/${repository}: manifest ${reference}`;
    const res = await this.call({ method: 'PUT', url: `/v2/${repository}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: bytes }, pushScope(repository));
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await statusError(res, what);
    res.body.resume();
  }

  /** The blob's size when the repository has it; undefined on 404. */
  async blobSize(repository: string, digest: OciDigest): Promise<number | undefined> {
    const res = await this.call({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}` }, pullScope(repository));
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await statusError(res, `${this.registry}/${repository}: blob ${digest}`);
    const size = Number(res.headers['content-length']);
    return Number.isSafeInteger(size) ? size : undefined;
  }

  /** A small blob (a config) held whole and checked against its digest (and size, when known). */
  async getBlob(repository: string, digest: OciDigest, size: number | undefined, max: number): Promise<Uint8Array> {
    const what = `${this.registry}/${repository}: blob ${digest}`;
    if (size !== undefined && size > max) throw new RegistryError('ELIMIT', `${what} claims ${size} bytes, more than the ${max} allowed`);
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.blobStream(repository, digest, 0)) {
      total += chunk.length;
      if (total > max) throw new RegistryError('ELIMIT', `${what} is more than the ${max} bytes allowed`);
      parts.push(chunk);
    }
    const bytes = Buffer.concat(parts);
    checkBlob(bytes, digest, size, what);
    return bytes;
  }

  /**
   * A blob's bytes from `start`. A connection that breaks or stalls is resumed where it stopped
   * with `Range: bytes=N-` (a registry that ignores ranges answers 200: the bytes already had are
   * skipped). The caller checks the digest over what it read.
   */
  async *blobStream(repository: string, digest: OciDigest, start: number): AsyncGenerator<Uint8Array> {
    const what = `${this.registry}/${repository}: blob ${digest}`;
    let offset = start;
    for (let failures = 0; ; ) {
      const res = await this.call({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, headers: offset > 0 ? { range: `bytes=${offset}-` } : {} }, pullScope(repository));
      let skip = 0;
      if (res.status === 206) {
        const from = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        if (!from || Number(from[1]) !== offset) {
          res.body.destroy();
          throw new RegistryError('EPROTOCOL', `${what}: asked for bytes from ${offset}, got ${res.headers['content-range'] ?? 'no Content-Range'}`);
        }
      } else if (res.status === 200) {
        skip = offset;
      } else if (res.status === 416 && offset > 0) {
        res.body.resume();
        return;
      } else {
        throw await statusError(res, what);
      }
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (skip >= chunk.length) {
            skip -= chunk.length;
            continue;
          }
          const part = skip > 0 ? chunk.subarray(skip) : chunk;
          skip = 0;
          offset += part.length;
          failures = 0;
          yield part;
        }
        return;
      } catch (error) {
        if (!this.transport.isRetryable(error) || failures >= this.transport.retries) {
          throw new RegistryError('ENETWORK', `${what}: the download broke at byte ${offset} and could not be resumed after ${failures + 1} attempts: ${(error as Error).message}`, { cause: error });
        }
        await this.transport.backoff(failures++);
      } finally {
        res.body.destroy();
      }
    }
  }

  /** Bytes [start, end) of a blob: one Range request (lazy reads). */
  async blobRange(repository: string, digest: OciDigest, start: number, end: number): Promise<Uint8Array> {
    const what = `${this.registry}/${repository}: blob ${digest} bytes ${start}-${end - 1}`;
    const res = await this.call({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, headers: { range: `bytes=${start}-${end - 1}` } }, pullScope(repository));
    if (res.status !== 206 && res.status !== 200) throw await statusError(res, what);
    // The range as asked is read to its end, which keeps the connection for the next request (a
    // lazy read makes many); a whole blob (200) is cut off once the range is in.
    if (res.status === 206 && Number(res.headers['content-length']) === end - start && String(res.headers['content-range']).startsWith(`bytes ${start}-${end - 1}/`)) {
      const bytes = await readBody(res, end - start, what);
      if (bytes.length !== end - start) throw new RegistryError('EPROTOCOL', `${what}: got ${bytes.length} bytes, not ${end - start}`);
      return bytes;
    }
    const parts: Buffer[] = [];
    let at = res.status === 200 ? 0 : start;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const from = Math.max(start, at);
      const to = Math.min(end, at + chunk.length);
      if (to > from) parts.push(chunk.subarray(from - at, to - at));
      at += chunk.length;
      if (at >= end) break;
    }
    res.body.destroy();
    const bytes = Buffer.concat(parts);
    if (bytes.length !== end - start) throw new RegistryError('EPROTOCOL', `${what}: got ${bytes.length} bytes, not ${end - start}`);
    return bytes;
  }

  /**
   * Several byte ranges [start, end) of a blob in one request (`Range: bytes=a-b,c-d`, answered
   * as multipart/byteranges, as distribution's http.ServeContent does), in the order asked. A
   * registry that answers otherwise (one range, or the whole blob) is asked range by range.
   */
  async blobRanges(repository: string, digest: OciDigest, ranges: readonly [number, number][]): Promise<Uint8Array[]> {
    if (ranges.length === 1) return [await this.blobRange(repository, digest, ranges[0]![0], ranges[0]![1])];
    const what = `${this.registry}/${repository}: blob ${digest} (${ranges.length} ranges)`;
    const header = `bytes=${ranges.map(([start, end]) => `${start}-${end - 1}`).join(',')}`;
    const res = await this.call({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, headers: { range: header } }, pullScope(repository));
    const boundary = /^multipart\/byteranges;\s*boundary="?([^";]+)"?/i.exec(String(res.headers['content-type'] ?? ''))?.[1];
    if (res.status !== 206 || !boundary) {
      res.body.destroy();
      if (res.status !== 200 && res.status !== 206) throw await statusError(res, what);
      const parts: Uint8Array[] = [];
      for (const [start, end] of ranges) parts.push(await this.blobRange(repository, digest, start, end));
      return parts;
    }
    const wanted = ranges.reduce((sum, [start, end]) => sum + end - start, 0);
    const body = await readBody(res, wanted + ranges.length * 512 + 4096, what);
    return splitByteranges(Buffer.from(body.buffer, body.byteOffset, body.length), boundary, ranges, what);
  }

  /** Asks the registry to link a blob from another repository: true when it did (201). */
  async mountBlob(repository: string, digest: OciDigest, from: string): Promise<boolean> {
    const url = `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await this.call({ method: 'POST', url }, `${pushScope(repository)} ${pullScope(from)}`);
    res.body.resume();
    if (res.status === 201) return true;
    // 202: the registry started an ordinary upload instead; it is left to expire.
    if (res.status === 202) {
      await this.cancelUpload(res, repository);
      return false;
    }
    if (res.status === 404 || res.status === 401 || res.status === 403) return false;
    throw await statusError(res, `${this.registry}/${repository}: mount of blob ${digest} from ${from}`);
  }

  /** Uploads bytes held whole: POST for a session, then PUT with the digest (monolithic). */
  async uploadBytes(repository: string, bytes: Uint8Array): Promise<OciDigest> {
    const tally = new Tally();
    tally.add(bytes);
    const digest = tally.digest();
    const location = await this.startUpload(repository);
    await this.finishUpload(repository, location, digest, bytes);
    return digest;
  }

  /**
   * Uploads a stream in chunks of `chunkSize` (PATCH with Content-Range, each held whole so a
   * broken one is sent again from where the registry says it stopped), then PUT with the digest
   * computed on the way: the blob is hashed once, as it is sent.
   */
  async uploadStream(repository: string, source: AsyncIterable<Uint8Array>, options: { chunkSize?: number; onBytes?: (sent: number) => void } = {}): Promise<{ digest: OciDigest; size: number }> {
    const chunkSize = options.chunkSize ?? 16 * 1024 * 1024;
    const tally = new Tally();
    let location = await this.startUpload(repository);
    let offset = 0;
    for await (const chunk of rechunk(tally.through(source), chunkSize)) {
      location = await this.patch(repository, location, chunk, offset);
      offset += chunk.length;
      options.onBytes?.(offset);
    }
    const digest = tally.digest();
    await this.finishUpload(repository, location, digest);
    return { digest, size: offset };
  }

  private async startUpload(repository: string): Promise<string> {
    const res = await this.call({ method: 'POST', url: `/v2/${repository}/blobs/uploads/` }, pushScope(repository));
    res.body.resume();
    if (res.status !== 202) throw await statusError(res, `${this.registry}/${repository}: starting an upload`);
    return location(res, `${this.registry}/${repository}: starting an upload`);
  }

  private async patch(repository: string, at: string, chunk: Uint8Array, offset: number): Promise<string> {
    const what = `${this.registry}/${repository}: upload of bytes ${offset}-${offset + chunk.length - 1}`;
    let res = await this.call({ method: 'PATCH', url: at, headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` }, body: chunk }, pushScope(repository));
    if (res.status === 416) {
      // A retried PATCH the registry had partly taken: ask where it is and send the rest.
      res.body.resume();
      const status = await this.call({ method: 'GET', url: at }, pushScope(repository));
      status.body.resume();
      const end = /^0-(\d+)$/.exec(String(status.headers.range ?? ''));
      const have = end ? Number(end[1]) + 1 : 0;
      if (status.status !== 204 || have < offset || have > offset + chunk.length) throw await statusError(res, `${what} (the registry has ${have} bytes)`);
      if (have === offset + chunk.length) return location(status, what);
      res = await this.call({ method: 'PATCH', url: location(status, what), headers: { 'content-type': 'application/octet-stream', 'content-range': `${have}-${offset + chunk.length - 1}` }, body: chunk.subarray(have - offset) }, pushScope(repository));
    }
    res.body.resume();
    if (res.status !== 202) throw await statusError(res, what);
    return location(res, what);
  }

  private async finishUpload(repository: string, at: string, digest: OciDigest, body?: Uint8Array): Promise<void> {
    const url = new URL(at, 'http://placeholder');
    url.searchParams.set('digest', digest);
    const target = at.startsWith('/') ? `${url.pathname}${url.search}` : url.href;
    const res = await this.call({ method: 'PUT', url: target, headers: { 'content-type': 'application/octet-stream' }, ...(body ? { body } : {}) }, pushScope(repository));
    res.body.resume();
    if (res.status !== 201) throw await statusError(res, `${this.registry}/${repository}: finishing the upload of blob ${digest}`);
  }

  private async cancelUpload(res: Response, repository: string): Promise<void> {
    const at = res.headers.location;
    if (!at) return;
    const cancel = await this.call({ method: 'DELETE', url: at }, pushScope(repository)).catch(() => undefined);
    cancel?.body.resume();
  }
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** Checks bytes held whole against the size and digest a descriptor states. */
export function checkBlob(bytes: Uint8Array, digest: OciDigest, size: number | undefined, what: string): void {
  if (size !== undefined && bytes.length !== size) throw new RegistryError('EDIGEST', `${what} has ${bytes.length} bytes, not the ${size} stated`);
  const tally = new Tally(digest);
  tally.add(bytes);
  if (tally.digest() !== digest) throw new RegistryError('EDIGEST', `${what} has digest ${tally.digest()}: the registry sent other bytes than the digest names`);
}

function location(res: Response, what: string): string {
  const at = res.headers.location;
  if (!at) throw new RegistryError('EPROTOCOL', `${what}: the registry answered ${res.status} without a Location`);
  // Relative locations stay relative to the registry; absolute ones are kept as given.
  return /^https?:\/\//.test(at) ? at : new URL(at, res.url).pathname + new URL(at, res.url).search;
}

/** An error for an unexpected status, with the registry's own error message when it gave one. */
export async function statusError(res: Response, what: string): Promise<RegistryError> {
  let detail = '';
  try {
    const text = await readText(res, 64 * 1024);
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    detail = errors.map((error) => [error.code, error.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    res.body.destroy();
  }
  const suffix = detail ? ` (${detail})` : '';
  if (res.status === 404) return new RegistryError('ENOTFOUND', `${what} was not found${suffix}`);
  if (res.status === 401 || res.status === 403) return new RegistryError('EAUTH', `${what}: access denied (${res.status})${suffix}`);
  return new RegistryError('EPROTOCOL', `${what}: the registry answered ${res.status}${suffix}`);
}

function retag(error: unknown, what: string): unknown {
  if (error instanceof RegistryError && !error.message.startsWith(what)) return new RegistryError(error.code, `${what}: ${error.message}`, { cause: error });
  return error;
}

/** The parts of a multipart/byteranges body, checked against the ranges asked for, in their order. */
function splitByteranges(body: Buffer, boundary: string, ranges: readonly [number, number][], what: string): Uint8Array[] {
  const byStart = new Map<number, Uint8Array>();
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const headersEnd = body.indexOf('\r\n\r\n', at);
    if (headersEnd === -1) break;
    const headers = body.toString('latin1', at + delimiter.length, headersEnd);
    const range = /content-range:\s*bytes (\d+)-(\d+)\//i.exec(headers);
    if (!range) break;
    const start = Number(range[1]);
    const length = Number(range[2]) - start + 1;
    const data = headersEnd + 4;
    if (data + length > body.length) throw new RegistryError('EPROTOCOL', `${what}: a part of the multipart answer is cut short`);
    byStart.set(start, body.subarray(data, data + length));
    at = body.indexOf(delimiter, data + length);
  }
  return ranges.map(([start, end]) => {
    const part = byStart.get(start);
    if (!part || part.length !== end - start) throw new RegistryError('EPROTOCOL', `${what}: the answer lacks bytes ${start}-${end - 1}`);
    return part;
  });
}

/** Regroups a stream into pieces of exactly `size` bytes (the last one shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let have = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (have + rest.length >= size) {
      const take = size - have;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      have = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(Buffer.from(rest));
      have += rest.length;
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}
