import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Container, type Engine, EngineError, type HeldLock, type SaveOptions } from '../container/index.js';
import { type FuseMount, type MountOptions, cleanStaleMount, lazyUnmount, mountContainer, mountMany } from '../fuse/index.js';
import { isMountPoint } from './mountinfo.js';

export interface ServeOptions {
  allowOther: boolean;
  suid: boolean;
  dev: boolean;
  /** How long the kernel trusts names and attributes. */
  cacheSeconds: number;
  debug: boolean;
  /** Seconds between saves of changed containers. */
  saveSeconds: number;
  /** Hash every chunk read (no FUSE passthrough): docs/store-layout.md. */
  verifyReads?: boolean;
  log: (line: string) => void;
}

/**
 * What `layerfs mount` does unless told otherwise. As root a mount is what a container runtime
 * needs: other users in (the kernel checks their permissions), setuid programs and device files
 * honoured. Users other than root get nosuid,nodev from fusermount3 whatever they ask.
 */
export function serveDefaults(log: (line: string) => void): ServeOptions {
  const root = process.getuid?.() === 0;
  // Nothing changes a mounted container behind the kernel's back without telling it (the
  // container is locked, in-process changes are notified), so names and attributes keep.
  return { allowOther: root, suid: root, dev: root, cacheSeconds: 3600, debug: false, saveSeconds: 5, log };
}

/** A live mount of one or many containers; stop() unmounts, saves and lets go of the locks. */
export interface Serving {
  readonly mountpoint: string;
  /** FUSE requests answered so far, by op (the kernel binding only). */
  requests?(): Record<string, number>;
  /** Resolves when the mount is gone, also when someone else unmounted it (umount(8)). */
  readonly closed?: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Mounts one container: lock the mount point and the container (a second mount is refused),
 * mount, and save the upper layer on every fsync and every few seconds; stop() unmounts first,
 * then saves, so nothing written before the unmount is lost.
 */
export async function serveContainer(engine: Engine, name: string, mountpoint: string, options: ServeOptions): Promise<Serving> {
  const resolved = await prepareMountpoint(mountpoint, options.log);
  return withLocks([() => engine.lockMountpoint(resolved, `serving container ${name}`), () => engine.lock(name, { what: 'mounted', mountpoint: resolved })], async () => {
    const container = engine.openContainer(name);
    const save = (how?: SaveOptions) => engine.saveContainer(name, container, how);
    const mount = await mountContainer(container, resolved, {
      // A failed save must fail the program's fsync (EIO), not pass silently.
      onSync: () => save({ incremental: true }),
      ...mountOptions(options, name),
    });
    return { mount, saveAll: save };
  }, resolved, options);
}

/** Mounts every container of the store as `mountpoint/<name>/`, opening each on first use. */
export async function serveAll(engine: Engine, mountpoint: string, options: ServeOptions): Promise<Serving> {
  const resolved = await prepareMountpoint(mountpoint, options.log);
  const open = new Map<string, { container: Container; lock: HeldLock }>();
  const refused = new Map<string, number>();
  let listed: { at: number; names: string[] } = { at: 0, names: [] };
  const names = () => {
    // readdir of the root comes in bursts: read the records at most once a second.
    if (Date.now() - listed.at > 1000) {
      const all = engine.containers().filter((info) => !info.lockedBy || open.has(info.name));
      listed = { at: Date.now(), names: all.map((info) => info.name) };
    }
    return listed.names;
  };
  const resolve = (name: string): Container | undefined => {
    const known = open.get(name);
    if (known) return known.container;
    // Only names of containers (a program may stat any name under the mount point).
    if (!names().includes(name)) return undefined;
    // A container another process holds is skipped; ask again after a while, not on every lookup.
    if ((refused.get(name) ?? 0) > Date.now()) return undefined;
    let lock: HeldLock | undefined;
    try {
      lock = engine.lock(name, { what: 'mounted', mountpoint: path.join(resolved, name) });
      const container = engine.openContainer(name);
      open.set(name, { container, lock });
      return container;
    } catch (error) {
      lock?.release();
      refused.set(name, Date.now() + 5000);
      options.log(`layerfs: not serving ${name}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const saveAll = (how?: SaveOptions) => {
    for (const [name, { container }] of open) engine.saveContainer(name, container, how);
  };
  return withLocks([() => engine.lockMountpoint(resolved, 'serving all containers')], async () => {
    const mount = await mountMany(resolve, names, resolved, {
      onSync: () => saveAll({ incremental: true }),
      ...mountOptions(options, 'all'),
    });
    return {
      mount,
      saveAll,
      release: () => {
        for (const { lock } of open.values()) lock.release();
      },
    };
  }, resolved, options);
}

function mountOptions(options: ServeOptions, source: string): MountOptions {
  const { allowOther, suid, dev, cacheSeconds, debug, verifyReads, log } = options;
  return {
    allowOther,
    suid,
    dev,
    cacheSeconds,
    debug,
    verifyReads,
    log,
    source: `layerfs:${source}`,
    // The container is locked and this process changes it only through the mount.
    writebackCache: true,
    onError: (error, op, at) => options.log(`layerfs: ${op} ${at}: ${(error as Error).stack ?? String(error)}`),
  };
}

/** Takes the locks in order, mounts, and wires saving and stopping; on failure lets go of everything. */
async function withLocks(
  locks: (() => HeldLock)[],
  start: () => Promise<{ mount: FuseMount; saveAll: (how?: SaveOptions) => unknown; release?: () => void }>,
  mountpoint: string,
  options: ServeOptions,
): Promise<Serving> {
  const held: HeldLock[] = [];
  const releaseAll = () => {
    for (const lock of held.splice(0).reverse()) lock.release();
  };
  let started: Awaited<ReturnType<typeof start>>;
  try {
    for (const take of locks) held.push(take());
    started = await start();
  } catch (error) {
    releaseAll();
    throw error;
  }
  const { mount, saveAll, release } = started;
  // The mount is served by this very thread: a timed save does not wait for another process's
  // store lock (the mount would stop answering meanwhile) and tries again at the next tick; the
  // saves on the way out wait.
  const trySave = (how: SaveOptions = {}) => {
    try {
      saveAll(how);
    } catch (error) {
      if (how.waitMs === 0 && isBusy(error)) return;
      options.log(`layerfs: saving failed (will retry): ${(error as Error).message}`);
    }
  };
  const saveWhenFree = () => trySave({ waitMs: 0, incremental: true });
  const timer = setInterval(saveWhenFree, options.saveSeconds * 1000);
  let stopped: Promise<void> | undefined;
  return {
    mountpoint,
    requests: mount.requests,
    closed: mount.closed,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        trySave();
        try {
          await mount.unmount();
        } catch (error) {
          // Programs still inside keep the detached mount alive: keep serving (and saving) them
          // until the last one lets go, so nothing they write after the final save is lost.
          options.log(`layerfs: ${mountpoint} is busy (${(error as Error).message}); detached it, serving until the last program leaves`);
          const detached = await lazyUnmount(mountpoint).then(
            () => true,
            (problem: unknown) => (options.log(`layerfs: lazy unmount failed: ${(problem as Error).message}`), false),
          );
          if (detached && mount.closed) {
            const saving = setInterval(saveWhenFree, options.saveSeconds * 1000);
            await mount.closed;
            clearInterval(saving);
          }
        }
        // The last save folds the journal into the upper layer: a stopped container is one blob.
        trySave();
        release?.();
        releaseAll();
      })()),
  };
}

function isBusy(error: unknown): boolean {
  return error instanceof EngineError && error.code === 'EBUSY';
}

/** Checks the mount point, cleaning a mount left by a killed daemon (it answers ENOTCONN). */
async function prepareMountpoint(mountpoint: string, log: (line: string) => void): Promise<string> {
  const resolved = path.resolve(mountpoint);
  if (await cleanStaleMount(resolved)) log(`layerfs: cleaned a stale mount at ${resolved} (its daemon was killed)`);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(resolved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`mount point ${resolved} does not exist; create it first (mkdir -p ${resolved})`);
    throw error;
  }
  if (!stat.isDirectory()) throw new Error(`mount point ${resolved} is not a directory`);
  if (isMountPoint(resolved)) throw new Error(`${resolved} is already a mount point; unmount it first (layerfs umount ${resolved})`);
  return resolved;
}
