import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ImageImportOptions, importImage } from '../image/import.js';
import { layerFromTar } from '../image/layer-from-tar.js';
import { Layer, type LayerId, layerFromFs } from '../layer/index.js';
import { BlobError, type BlobStore, type Digest, DirBlobStore, type GcResult, collectGarbage } from '../store/index.js';
import { Image } from '../union/image.js';
import { removeAbandoned, removeFileDurably, writeFileAtomic } from '../durable-file.js';
import { randomBytes } from 'node:crypto';
import { JournalWriter, deltaDigests, readJournal, restoreChunk } from './journal.js';
import { Container } from './container.js';
import { type DiskUsage, diskUsage } from './disk-usage.js';
import { EngineError, checkName } from './engine-error.js';
import { type ContainerRecord, type ImageRecord, JOURNAL_FILE, RecordFolder } from './engine-records.js';
import { type LockHolder, LockFile, type LockPurpose } from './lock-file.js';
import { type HeldLock, StoreLocks } from './store-locks.js';
import { prepareStoreDir } from './store-marker.js';
import { type References, collectReferences, describeOwner } from './references.js';
import { tarFileSource } from './tar-file.js';
import { type VerifyReport, verifyStore } from './verify.js';
import type { Change } from './walk.js';

export interface EngineOptions {
  /** fsync blobs and records (default true); off only for scratch stores and benchmarks. */
  durable?: boolean;
  /** How long a writer waits for another process's short store lock (default 30 s). */
  lockWaitMs?: number;
  /**
   * The store containers read file contents through, made from the directory store (default:
   * that store itself). Lazily pulled images fetch missing chunks this way (src/registry).
   */
  reads?: (store: BlobStore) => BlobStore;
}

export interface ImportOptions {
  /** Replace an image of the same name (its containers keep their own layers). */
  force?: boolean;
  chunkSize?: number;
  /** After each entry, for progress. */
  onEntry?: (path: string, bytes: number) => void;
  /** Tar only: file bytes read so far, for progress against the file's size. */
  onRead?: (bytes: number) => void;
}

export interface ContainerInfo extends ContainerRecord {
  /** The live process holding the container's lock (a mount), if any. */
  lockedBy?: LockHolder;
}

export interface EngineGcResult extends GcResult {
  /** Blobs kept because something references them. */
  kept: number;
}

/**
 * The on-disk store a CLI or daemon opens:
 *
 *   <dir>/layerfs.json                the marker: { format }
 *   <dir>/blobs/, objects/, tmp/      the DirBlobStore (layers, saved upper layers, chunks; imported
 *                                     files whole and in packs: docs/store-layout.md)
 *   <dir>/images/<name>.json          { layers (bottom first), created }
 *   <dir>/containers/<name>.json      { image, layers, upper: digest or null, journal?, created }
 *   <dir>/containers/<name>.<id>.journal  incremental saves since `upper` (journal.ts)
 *   <dir>/locks/                      store.lock (short, writers of records), container-<name>.lock
 *                                     (a mount), mount-<hash>.lock (a serving daemon), work-*.lock
 *
 * Blobs are written and fsynced before the record that references them, and records are
 * replaced atomically, so a process killed at any moment leaves the old state or the new one;
 * what it wrote and did not reference yet is garbage for `gc`. Several processes may share a
 * store: record writers take the store lock, a mount holds its container's lock (and any other
 * process's save of that container is refused), and `gc` refuses to run while anything holds a
 * lock (their unsaved blobs would look like garbage).
 */
export class Engine {
  readonly dir: string;
  readonly store: DirBlobStore;
  /** What containers read contents through (EngineOptions.reads). */
  readonly reader: BlobStore;
  private readonly images_: RecordFolder<ImageRecord>;
  private readonly containers_: RecordFolder<ContainerRecord>;
  private readonly locks: StoreLocks;
  private readonly layers = new Map<LayerId, Layer>();
  private readonly imageCache = new Map<string, Image>();
  private readonly savedChanges = new WeakMap<Container, { name: string; changes: number }>();
  /** Containers whose lock this engine took with lock() and holds. */
  private readonly held = new Set<string>();
  /** The journal each open container appends to. */
  private readonly journals = new WeakMap<Container, JournalWriter>();
  private readonly durable: boolean;

  private constructor(dir: string, options: EngineOptions) {
    const durable = options.durable ?? true;
    this.dir = dir;
    this.durable = durable;
    // Blobs are fsynced together right before a record names them, not one by one.
    this.store = new DirBlobStore(dir, { durable, batch: true });
    this.reader = options.reads ? options.reads(this.store) : this.store;
    const syncBlobs = () => this.store.sync();
    this.images_ = new RecordFolder(path.join(dir, 'images'), 'image', durable, syncBlobs);
    this.containers_ = new RecordFolder(path.join(dir, 'containers'), 'container', durable, syncBlobs);
    this.locks = new StoreLocks(path.join(dir, 'locks'), dir, options.lockWaitMs ?? 30_000);
  }

  /** Opens the store in `dir`, creating it when `dir` is missing or empty. */
  static open(dir: string, options: EngineOptions = {}): Engine {
    const root = path.resolve(dir);
    prepareStoreDir(root, options.durable ?? true);
    const engine = new Engine(root, options);
    for (const folder of ['images', 'containers', 'locks']) {
      fs.mkdirSync(path.join(root, folder), { recursive: true });
      removeAbandoned(path.join(root, folder));
    }
    return engine;
  }

  // ---- images ------------------------------------------------------------------------------

  /** Imports a directory of the host as a one-layer image named `tag`. */
  importDirectory(source: string, tag: string, options: ImportOptions = {}): ImageRecord {
    this.checkNewImage(tag, options.force);
    if (!fs.statSync(source).isDirectory()) throw new EngineError('EINVAL', `${source} is not a directory`);
    const work = this.locks.pin(`importing ${source}`);
    try {
      const layer = layerFromFs(this.store, fs, path.resolve(source), { chunkSize: options.chunkSize, onEntry: options.onEntry });
      return this.tag(tag, [layer.id], { force: options.force });
    } finally {
      work.release();
    }
  }

  /**
   * Imports a plain tar archive (gzipped or not) as a one-layer image named `tag`; `.wh.` names
   * stay ordinary files (importImage reads OCI layers, whiteouts and all).
   */
  async importTar(file: string, tag: string, options: ImportOptions = {}): Promise<ImageRecord> {
    this.checkNewImage(tag, options.force);
    const work = this.locks.pin(`importing ${file}`);
    // Opened once the pin is held: a refused import leaves no file open.
    const source = tarFileSource(file, options.onRead);
    try {
      const layer = await layerFromTar(this.store, source, { chunkSize: options.chunkSize, onEntry: options.onEntry });
      return this.tag(tag, [layer.id], { force: options.force });
    } finally {
      work.release();
    }
  }

  /**
   * Imports an OCI image layout (a folder or a tar of one), a `docker save` tarball or a single
   * OCI/Docker layer tarball (whiteouts translated), checking every digest; see importImage.
   */
  async importImage(input: string, tag: string, options: ImageImportOptions & { force?: boolean } = {}): Promise<ImageRecord> {
    this.checkNewImage(tag, options.force);
    const work = this.locks.pin(`importing ${input}`);
    try {
      const { layers } = await importImage(this.store, input, options);
      return this.tag(tag, layers.map((layer) => layer.id), { force: options.force });
    } finally {
      work.release();
    }
  }

  /** Holds off gc while long work (an export) reads blobs, or writes ones nothing names yet. */
  pin(what: string): HeldLock {
    return this.locks.pin(what);
  }

  /** Names a stack of stored layers (bottom first) as an image. */
  tag(name: string, layers: readonly LayerId[], options: { force?: boolean } = {}): ImageRecord {
    return this.locks.withStoreLock(`tagging image ${name}`, () => {
      this.checkNewImage(name, options.force);
      for (const id of layers) if (!this.store.has(id)) throw new EngineError('EINVAL', `layer ${id} is not in the store`);
      const record: ImageRecord = { name, layers: [...layers], created: new Date().toISOString() };
      this.images_.put(record);
      return record;
    });
  }

  images(): ImageRecord[] {
    return this.images_.all();
  }

  imageRecord(name: string): ImageRecord {
    return this.images_.get(name);
  }

  /** The image's layers, loaded (and shared by every container of the same layers). */
  image(name: string): Image {
    return this.imageOf(this.images_.get(name).layers, `image ${name}`);
  }

  /** Removes an image's name; refused while a container was created from it. */
  rmi(name: string): void {
    this.locks.withStoreLock(`removing image ${name}`, () => {
      this.images_.get(name);
      const users = this.containers_.all().filter((container) => container.image === name).map((container) => container.name);
      if (users.length > 0) {
        throw new EngineError('ENOTEMPTY', `image ${name} is used by ${plural(users.length, 'container')} ${users.join(', ')}; remove ${users.length === 1 ? 'it' : 'them'} first (layerfs rm ${users.join(' ')})`);
      }
      this.images_.remove(name);
    });
  }

  // ---- containers --------------------------------------------------------------------------

  /** A new, empty container of an image: a record, no copy of anything. */
  create(image: string, name: string): ContainerRecord {
    checkName('image', image);
    checkName('container', name);
    return this.locks.withStoreLock(`creating container ${name}`, () => {
      const { layers } = this.images_.get(image);
      this.checkNewContainer(name);
      const record: ContainerRecord = { name, image, layers, upper: null, created: new Date().toISOString() };
      this.containers_.put(record);
      return record;
    });
  }

  containers(): ContainerInfo[] {
    return this.containers_.all().map((record) => this.withHolder(record));
  }

  container(name: string): ContainerInfo {
    return this.withHolder(this.containers_.get(name));
  }

  /** The container as last saved (its upper layer, then its journal). Changes stay in memory until `saveContainer`. */
  openContainer(name: string): Container {
    for (let attempt = 0; ; attempt++) {
      const record = this.containers_.get(name);
      const image = this.imageOf(record.layers, `container ${name}`);
      try {
        const upper = record.upper === null ? null : this.store.get(record.upper);
        const { records, length } = record.journal ? readJournal(this.journalPath(record.journal), image) : { records: [], length: 0 };
        for (const { chunks } of records) for (const [digest, bytes] of chunks) restoreChunk(this.store, digest, bytes);
        const container = Container.load(image, this.reader, upper, {}, records.map(({ delta }) => delta));
        const file = record.journal ? this.journalPath(record.journal) : this.newJournalPath(name);
        container.startIncrementalSaves();
        this.journals.set(container, new JournalWriter(name, record.upper, file, record.journal !== undefined, length, records.length));
        return container;
      } catch (error) {
        // The journal went away under us: its mount saved the container whole meanwhile.
        if (isMissingFile(error) && attempt < 3 && this.containers_.get(name).journal !== record.journal) continue;
        throw new EngineError('EIO', `container ${name} cannot be loaded (${(error as Error).message}); run layerfs verify`, { cause: error });
      }
    }
  }

  /**
   * Persists a container's upper layer whole: its blob first (fsynced), then the record,
   * atomically; the previous upper blob and the journal become garbage. With `incremental` (a
   * mount's saves), what changed since the last save is appended to the container's journal
   * instead, with one fdatasync, so an fsync through a mount costs about what the kernel's does;
   * now and then such a save is whole all the same, to keep the journal short.
   * Returns false when nothing changed since the last save.
   * Refused (EBUSY) while another process holds the container's lock: a save replaces the whole
   * upper layer, so it would overwrite a mount's changes (and the mount's next save ours). A
   * lock this process holds (a mount saving) is enough; a free lock is held for the save.
   */
  saveContainer(name: string, container: Container, options: SaveOptions = {}): boolean {
    // A container unchanged since its last save is not saved again (a mount saves every few
    // seconds and on every fsync).
    const saved = this.savedChanges.get(container);
    const changes = container.changeCount;
    const journal = this.journals.get(container);
    if (saved?.name === name && saved.changes === changes && (options.incremental || !journal?.exists)) return false;
    if (options.incremental && journal?.name === name && journal.hasRoom()) {
      // The lock a mount of this engine holds is enough: an fsync costs no lock file reads.
      const lock = this.held.has(name) ? undefined : this.lockForSave(name);
      try {
        journal.append(container.saveChanges(), this.store, this.durable, (file) => this.nameJournal(name, journal.base, file, options.waitMs));
      } catch (error) {
        // What it took out of the container is saved whole next time.
        journal.close();
        this.journals.delete(container);
        throw error;
      } finally {
        lock?.release();
      }
      this.savedChanges.set(container, { name, changes });
      return true;
    }
    return this.locks.withStoreLock(`saving container ${name}`, () => {
      const record = this.containers_.get(name);
      const lock = this.lockForSave(name);
      try {
        const upper = this.saveWholeUpper(container);
        // Noted as saved only once the record is written: a failed save is retried by the next.
        const replaced = upper !== record.upper || record.journal !== undefined;
        if (replaced) this.containers_.put({ ...withoutJournal(record), upper });
        if (record.journal) removeFileDurably(this.journalPath(record.journal), this.durable);
        journal?.close();
        container.startIncrementalSaves();
        this.journals.set(container, new JournalWriter(name, upper, this.newJournalPath(name), false));
        this.savedChanges.set(container, { name, changes });
        return replaced;
      } finally {
        lock?.release();
      }
    }, options.waitMs);
  }

  /** Names a journal the first record made in the container's record (above `base`, the upper it applies to). */
  private nameJournal(name: string, base: Digest | null, file: string, waitMs: number | undefined): void {
    this.locks.withStoreLock(`saving container ${name}`, () => {
      const record = this.containers_.get(name);
      this.containers_.put({ ...record, upper: base, journal: path.basename(file) });
    }, waitMs);
  }

  /** The upper layer's blob; an upper layer that holds nothing is none: the container has not changed. */
  private saveWholeUpper(container: Container): Digest | null {
    return container.upperSize === 0 ? null : this.store.put(container.saveUpper());
  }

  /** The chunks a container's journal references; a journal that cannot be read references none. */
  private journalDigests(record: ContainerRecord): Digest[] {
    if (!record.journal) return [];
    try {
      return readJournal(this.journalPath(record.journal), undefined).records.flatMap(({ delta }) => deltaDigests(delta));
    } catch {
      return [];
    }
  }

  private newJournalPath(name: string): string {
    return this.journalPath(`${name}.${randomBytes(8).toString('hex')}.journal`);
  }

  private journalPath(file: string): string {
    return path.join(this.containers_.folder, file);
  }

  /** A copy of a container as last saved, in O(1): both records name the same upper blob. */
  fork(name: string, newName: string): ContainerRecord {
    checkName('container', newName);
    return this.locks.withStoreLock(`forking container ${name}`, () => {
      const source = this.containers_.get(name);
      this.checkNewContainer(newName);
      // The journal stays the source's own (its mount appends to it): the fork gets it folded in.
      const upper = source.journal ? this.saveWholeUpper(this.openContainer(name)) : source.upper;
      const record: ContainerRecord = { ...withoutJournal(source), upper, name: newName, created: new Date().toISOString() };
      this.containers_.put(record);
      return record;
    });
  }

  /** The container's changes (as last saved) as a new layer on top of its image's, named `tag`. */
  commit(name: string, tag: string, options: { force?: boolean } = {}): ImageRecord {
    this.checkNewImage(tag, options.force);
    return this.locks.withStoreLock(`committing container ${name}`, () => {
      const record = this.containers_.get(name);
      const { layer } = this.openContainer(name).commit();
      return this.tag(tag, [...record.layers, layer.id], options);
    });
  }

  /** Paths added, changed and deleted relative to the image, as last saved. */
  diff(name: string): Change[] {
    return this.openContainer(name).diff();
  }

  /** Removes a container; refused while it is mounted. Its blobs become garbage. */
  rm(name: string): void {
    this.locks.withStoreLock(`removing container ${name}`, () => {
      this.containers_.get(name);
      const lock = this.lock(name, { what: 'being removed' });
      try {
        const { journal } = this.containers_.get(name);
        this.containers_.remove(name);
        if (journal) removeFileDurably(this.journalPath(journal), this.durable);
      } finally {
        lock.release();
      }
    });
  }

  /**
   * Takes a container's exclusive lock (a mount holds it for its whole life). A lock whose holder
   * died is taken over; a live holder makes this throw EBUSY naming it.
   */
  lock(name: string, purpose: LockPurpose = { what: 'in use' }): HeldLock {
    return this.locks.withStoreLock(`locking container ${name}`, () => {
      this.containers_.get(name);
      const got = LockFile.tryAcquire(this.locks.containerFile(name), purpose);
      if (got instanceof LockFile) {
        this.held.add(name);
        return { release: () => (this.held.delete(name), got.release()) };
      }
      const hint = got.mountpoint ? `; unmount it first (layerfs umount ${got.mountpoint})` : '';
      throw new EngineError('EBUSY', `container ${name} is ${heldBy(got)}${hint}`);
    });
  }

  /** Claims a mount point for this process, so a second daemon on it is refused and `umount` finds us. */
  lockMountpoint(mountpoint: string, what: string): HeldLock {
    const resolved = path.resolve(mountpoint);
    return this.locks.withStoreLock(`mounting ${resolved}`, () => {
      const got = LockFile.tryAcquire(this.locks.mountFile(resolved), { what, mountpoint: resolved });
      if (got instanceof LockFile) return got;
      throw new EngineError('EBUSY', `${resolved} is already served by pid ${got.pid} (${got.what}); unmount it first (layerfs umount ${resolved})`);
    });
  }

  /** The live daemon serving a mount point, if any. */
  mountHolder(mountpoint: string): LockHolder | undefined {
    return LockFile.holder(this.locks.mountFile(path.resolve(mountpoint)));
  }

  // ---- whole store -------------------------------------------------------------------------

  /** Per image and container: logical, stored, shared and unique bytes; and what gc would free. */
  df(): DiskUsage {
    const { images, containers, refs, damaged } = this.references();
    const usage = diskUsage(this.store, images, containers, refs);
    usage.unreadable.push(...damaged);
    return usage;
  }

  /**
   * Deletes every blob no image or container references. Refused while any process holds a lock
   * on the store (a mount, an import): blobs it wrote and has not referenced yet would be lost.
   */
  gc(): EngineGcResult {
    return this.locks.withStoreLock('collecting garbage', () => {
      const busy = this.locks.liveHolders();
      if (busy.length > 0) {
        // A mount holds two locks (its mount point's and its container's): name it once.
        const who = [...new Set(busy.map((holder) => `pid ${holder.pid} (${holder.what}${holder.mountpoint ? ` at ${holder.mountpoint}` : ''})`.replace(/\(serving container \S+ at /, '(mounted at ')))].join(', ');
        throw new EngineError('EBUSY', `cannot collect garbage while the store is in use by ${who}; unmount or wait for them, then run gc again`);
      }
      const { containers, refs, damaged } = this.references();
      const unknown = [...damaged, ...refs.unreadable.map(({ owner, digest, error }) => `${describeOwner(owner)}: ${digest}: ${(error as Error).message}`)];
      if (unknown.length > 0) {
        throw new EngineError('EIO', `cannot tell what every image and container references, so nothing is deleted (${unknown.join('; ')}); run layerfs verify and remove or repair what it names`);
      }
      const live = new Set(refs.owners.flatMap(({ digests }) => [...digests]));
      const result = collectGarbage(this.store, live);
      // Journals no record names: left by a save killed between writing one and naming it.
      const journals = new Set(containers.map(({ journal }) => journal));
      for (const file of fs.readdirSync(this.containers_.folder)) {
        if (JOURNAL_FILE.test(file) && !journals.has(file)) removeFileDurably(this.journalPath(file), this.durable);
      }
      this.layers.clear();
      return { ...result, kept: [...this.store.digests()].length };
    });
  }

  /**
   * Rehashes every blob; reports missing and corrupt ones and the images and containers they
   * break. Chunks the reader fetches on first read (lazily pulled images) are not missing.
   */
  verify(onBlob?: (done: number) => void): VerifyReport & { damagedRecords: string[] } {
    const { refs, damaged } = this.references();
    const fetchable = this.reader.fetchable?.bind(this.reader);
    const report = verifyStore(this.store, refs, onBlob, fetchable);
    return { ...report, ok: report.ok && damaged.length === 0, damagedRecords: damaged };
  }

  // ---- internals ---------------------------------------------------------------------------

  private references(): { images: ImageRecord[]; containers: ContainerRecord[]; refs: References; damaged: string[] } {
    const images = this.images_.scan();
    const containers = this.containers_.scan();
    const refs = collectReferences(images.records, containers.records, (id) => this.layer(id), this.store, (record) => this.journalDigests(record));
    const damaged = [...images.damaged, ...containers.damaged].map((error) => error.message);
    return { images: images.records, containers: containers.records, refs, damaged };
  }

  private layer(id: LayerId): Layer {
    let layer = this.layers.get(id);
    if (!layer) this.layers.set(id, (layer = Layer.load(this.store, id)));
    return layer;
  }

  private imageOf(layers: readonly LayerId[], what: string): Image {
    const key = layers.join(',');
    let image = this.imageCache.get(key);
    if (image) return image;
    try {
      image = new Image(layers.map((id) => this.layer(id)));
    } catch (error) {
      const detail = error instanceof BlobError ? `layer blob ${error.digest} is ${error.fault}` : (error as Error).message;
      throw new EngineError('EIO', `${what} cannot be loaded (${detail}); run layerfs verify`, { cause: error });
    }
    this.imageCache.set(key, image);
    return image;
  }

  /** The container's lock for one save: undefined when this process holds it already (a mount). */
  private lockForSave(name: string): LockFile | undefined {
    const got = LockFile.tryAcquire(this.locks.containerFile(name), { what: 'being saved' });
    if (got instanceof LockFile) return got;
    // A live holder with our pid is this process (isLive compares start times: a dead holder whose
    // pid we now have is stale), e.g. its mount saving.
    if (got.pid === process.pid) return undefined;
    const hint = got.mountpoint ? `save through that mount, or unmount it first (layerfs umount ${got.mountpoint})` : 'save through that process, or stop it first';
    throw new EngineError('EBUSY', `cannot save container ${name} from pid ${process.pid}: it is ${heldBy(got)}, whose changes the save would overwrite; ${hint}`);
  }

  private withHolder(record: ContainerRecord): ContainerInfo {
    const holder = LockFile.holder(this.locks.containerFile(record.name));
    return holder ? { ...record, lockedBy: holder } : record;
  }

  private checkNewImage(name: string, force = false): void {
    checkName('image', name);
    if (!force && this.images_.has(name)) {
      throw new EngineError('EEXIST', `image ${name} exists; choose another name, or replace it with --force (its containers keep their layers)`);
    }
  }

  private checkNewContainer(name: string): void {
    if (this.containers_.has(name)) throw new EngineError('EEXIST', `container ${name} exists; choose another name or remove it first (layerfs rm ${name})`);
  }
}

/** `mounted at /mnt/web by pid 42`, for messages about a lock's holder. */
function heldBy(holder: LockHolder): string {
  return `${holder.what}${holder.mountpoint ? ` at ${holder.mountpoint}` : ''} by pid ${holder.pid}`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

export interface SaveOptions {
  /** How long to wait for another process's store lock (EBUSY after it). */
  waitMs?: number;
  /** Append what changed to the container's journal (see saveContainer). */
  incremental?: boolean;
}

function withoutJournal(record: ContainerRecord): ContainerRecord {
  const { journal: _, ...rest } = record;
  return rest;
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
