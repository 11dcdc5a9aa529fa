#!/usr/bin/env node
/**
 * `layerfs-overlay`: `layerfs overlay` under a name of its own, for the callers that take one
 * program path: podman's storage.conf (`mount_program = "/usr/bin/layerfs-overlay"`) and
 * mount.fuse3 (`mount -t fuse.layerfs-overlay`).
 */
import { runOverlay } from './overlay.js';

process.exitCode = await runOverlay(process.argv.slice(2), (text) => void process.stderr.write(text));
