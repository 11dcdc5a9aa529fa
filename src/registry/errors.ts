/**
 * Why a push or pull failed. The message names the registry, the repository and the blob or
 * manifest; `code` lets a caller branch without parsing it:
 *
 * - EAUTH: the registry refused the credentials, or asked for some and none were found;
 * - ENOTFOUND: the repository, tag, manifest or blob does not exist (404);
 * - EDIGEST: bytes do not match the digest or size that names them (a registry that lies);
 * - ELIMIT: larger than a limit (a manifest over 4 MiB);
 * - EPROTOCOL: an answer the distribution API does not allow (status, header, redirect);
 * - ENETWORK: the registry could not be reached, or stopped answering, after every retry;
 * - ETLS: the TLS handshake failed (unknown CA: give --ca-file; or --insecure for a test registry).
 */
export type RegistryErrorCode = 'EAUTH' | 'ENOTFOUND' | 'EDIGEST' | 'ELIMIT' | 'EPROTOCOL' | 'ENETWORK' | 'ETLS';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}
