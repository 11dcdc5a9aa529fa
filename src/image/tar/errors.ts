/** A malformed, truncated or unsupported tar archive; `offset` is where in the archive it showed. */
export class TarError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    options?: { cause?: unknown },
  ) {
    super(`${message} (at offset ${offset})`, options);
    this.name = 'TarError';
  }
}
