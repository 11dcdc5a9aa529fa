/**
 * Images: a stack of layers, bottom to top, and their exchange formats. For now this holds the tar
 * reader and writer that layer import and (later) OCI/Docker layer import and export are built on;
 * this folder is the only place that will know `.wh.` whiteout names.
 */
export * from './tar.js';
