/**
 * Overlay-format directories as layers: what kernel overlayfs, fuse-overlayfs and
 * containers-storage keep on disk (whiteouts as 0/0 devices or `.wh.` files, opaque and redirect
 * xattrs). `scanDirLayer` reads one into a layer of metadata whose file bytes stay in the
 * directory; `openOverlay` checks a lowerdir/upperdir/workdir set and gives an `OverlayView`, the
 * union core over those layers that mirrors every change into the upper directory in the same
 * format (copy-up through the work directory, whiteouts, opaque directories, redirects for moved
 * lower directories). Mount it with `mountContainer`; `layerfs overlay` does that from the
 * command line.
 */
export { type DirLayer, type ScanOptions, scanDirLayer } from './dir-layer.js';
export { IdMap, type IdRange } from './ids.js';
export { type OverlayConfig, OverlayError, openOverlay } from './open.js';
export { OverlayView } from './view.js';
