import { type FuseMount, lazyUnmount, mountContainer } from '../fuse/index.js';
import { OverlayError, openOverlay } from '../overlay/open.js';
import type { OverlayView } from '../overlay/view.js';
import type { OverlayArgs } from './overlay-args.js';
import { announce } from './overlay-ready.js';

/** A union mounted by this process. */
export interface OverlayMount {
  readonly view: OverlayView;
  readonly mount: FuseMount;
  /** Unmounts (lazily when busy) and closes the view's files. */
  stop(): Promise<void>;
}

/** Checks, opens and mounts a union; resolves once the mount is live. */
export async function mountOverlay(parsed: OverlayArgs, log: (line: string) => void): Promise<OverlayMount> {
  // Modes arrive with the caller's umask applied by the kernel: files are made exactly so.
  process.umask(0);
  const view = openOverlay(parsed.config);
  if (parsed.volatile) view.flush = () => {};
  let mount: FuseMount;
  try {
    mount = await mountContainer(view, parsed.mountpoint, {
      // As fuse-overlayfs does for root: a container's non-root users must get in too; the
      // kernel still checks every permission (default_permissions).
      allowOther: parsed.allowOther || process.getuid?.() === 0,
      suid: parsed.suid,
      dev: parsed.dev,
      source: 'layerfs-overlay',
      debug: parsed.debug,
      cacheSeconds: parsed.cacheSeconds,
      backend: 'kernel',
      onError: (error, op, at) => log(`layerfs overlay: ${parsed.mountpoint}: ${op} ${at}: ${(error as Error).stack ?? String(error)}`),
    });
  } catch (error) {
    view.release();
    if (error instanceof OverlayError) throw error;
    throw new Error(`cannot mount at ${parsed.mountpoint}: ${(error as Error).message}`);
  }
  view.readAhead();
  // Unmounted by umount(8), fusermount -u or podman: everything is on disk already.
  void mount.closed?.then(() => view.release());
  log(`layerfs overlay: serving ${parsed.config.lowerdirs.join(':')}${parsed.config.upperdir ? ` with changes in ${parsed.config.upperdir}` : ' read-only'} at ${parsed.mountpoint} (pid ${process.pid})`);
  return {
    view,
    mount,
    async stop() {
      try {
        await mount.unmount();
      } catch {
        // Busy: detach, and the kernel ends the connection once the last program lets go.
        await lazyUnmount(parsed.mountpoint).catch(() => {});
      }
      view.release();
    },
  };
}

/** Mounts and serves until unmounted or signalled; the process exits when the mount is gone. */
export async function serve(parsed: OverlayArgs, log: (line: string) => void): Promise<never> {
  const served = await mountOverlay(parsed, log);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await served.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  void served.mount.closed?.then(() => process.exit(0));
  announce({ ready: true, pid: process.pid });
  return new Promise<never>(() => {});
}
