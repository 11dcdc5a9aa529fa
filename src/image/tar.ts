/**
 * Tar without dependencies: a streaming reader (ustar, pax with global headers, GNU long names,
 * v7) and a deterministic writer (ustar, plus PAX records where ustar cannot hold a field).
 * Tar members are not layer entries yet: `.wh.` whiteouts and path normalisation belong to the
 * importers (layer-from-tar.ts, and OCI import).
 */
export { TarError } from './tar/errors.js';
export { type TarHeader, type TarType } from './tar/header.js';
export { type TarSource } from './tar/source.js';
export { type TarEntry, type ReadTarOptions, readTar } from './tar/reader.js';
export { type TarEntryInput, type TarWriteEntry, TAR_END, tarHeader, tarPadding, writeTar, packTar } from './tar/writer.js';
