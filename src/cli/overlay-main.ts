#!/usr/bin/env node
/**
 * `layerfs-overlay`: `layerfs overlay` under a name of its own, for the callers that take one
 * program path: podman's storage.conf (`mount_program = "/usr/bin/layerfs-overlay"`) and
 * mount.fuse3 (`mount -t fuse.layerfs-overlay`). Started by the mount client with
 * LAYERFS_OVERLAY_SOCKET set, it is the server every such mount of the user goes through.
 */
const socketPath = process.env.LAYERFS_OVERLAY_SOCKET;
if (socketPath) {
  delete process.env.LAYERFS_OVERLAY_SOCKET;
  const log = (line: string) => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const [{ serveSocket }, { announce }] = await Promise.all([import('./overlay-server.js'), import('./overlay-ready.js')]);
  try {
    await serveSocket(socketPath, log);
  } catch (error) {
    announce({ error: `cannot serve on ${socketPath}: ${(error as Error).message}` });
    log(`layerfs overlay: cannot serve on ${socketPath}: ${(error as Error).stack}`);
    process.exitCode = 1;
  }
} else {
  const { runOverlay } = await import('./overlay.js');
  process.exitCode = await runOverlay(process.argv.slice(2), (text) => void process.stderr.write(text));
}
