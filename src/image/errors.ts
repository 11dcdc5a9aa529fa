/**
 * Why an image or layer could not be imported or exported. The message names the layer or file
 * and the reason; `code` lets a caller branch without parsing it:
 *
 * - EDIGEST: bytes do not match the digest or diff id that names them;
 * - EFORMAT: malformed JSON, archive or layer (a TarError of a layer is the `cause`);
 * - ELIMIT: larger than a limit (decompressed size, JSON size), or a gzip bomb;
 * - EUNSUPPORTED: valid, but not something layerfs takes (zstd, foreign layers, sockets in tar);
 * - ENOENT: a file or blob the image names is missing;
 * - EAMBIGUOUS: several images match and nothing says which one to take.
 */
export type ImageErrorCode = 'EDIGEST' | 'EFORMAT' | 'ELIMIT' | 'EUNSUPPORTED' | 'ENOENT' | 'EAMBIGUOUS';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageError';
  }
}
