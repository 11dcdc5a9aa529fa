import { ErrnoError } from '../errno.js';
import type { UnionView } from '../union/index.js';
import { type Listing, listing } from './kernel/listing.js';
import type { NodeChange, NodeOps } from './kernel/node-ops.js';
import type { Attr } from './kernel/protocol.js';

/** Inode numbers of one container: its slot times this, plus its own inode number. */
const SLOT = 2 ** 32;
const ROOT = 1;

/**
 * One inode space over many containers: `/` lists their names and `/<name>/` is that container's
 * root. A container's inode numbers are its slot (1, 2, … in order of first use) times 2^32 plus
 * its own, so nothing grows with the files programs touch and hard links keep one number. Names
 * and links between containers answer EXDEV, changes to `/` itself EPERM.
 */
export function routerOps(resolve: (name: string) => UnionView | undefined, names: () => string[], opsOf: (view: UnionView) => NodeOps): NodeOps {
  const slots = new Map<string, number>();
  const tables = new Map<number, { view: UnionView; ops: NodeOps; stop?: () => void }>();
  /** A container's slot, given on first mention (a listing names it before anyone opens it). */
  const slotNumber = (name: string) => {
    let slot = slots.get(name);
    if (slot === undefined) slots.set(name, (slot = slots.size + 1));
    return slot;
  };
  let listener: ((change: NodeChange) => void) | undefined;
  /** Passes a container's changes on in the mount's inode numbers. */
  const watch = (slot: number, ops: NodeOps) => {
    const observer = listener;
    if (!observer) return undefined;
    const base = slot * SLOT;
    return ops.observe((change) => observer(change.node === undefined ? { parent: base + change.parent, name: change.name } : { node: base + change.node }));
  };
  const rootAttr = (): Attr => {
    const now = BigInt(Date.now()) * 1_000_000n;
    return { ino: ROOT, mode: 0o40555, nlink: 2, uid: 0, gid: 0, rdev: 0, size: 4096, blocks: 8, atime: now, mtime: now, ctime: now };
  };
  /** The slot of a container whose view is open (opened now if need be), or undefined. */
  const slotOf = (name: string): number | undefined => {
    const view = resolve(name);
    if (!view) return undefined;
    const slot = slotNumber(name);
    const known = tables.get(slot);
    if (known?.view === view) return slot;
    known?.stop?.();
    const ops = opsOf(view);
    tables.set(slot, { view, ops, stop: watch(slot, ops) });
    return slot;
  };
  const outer = (slot: number, attr: Attr): Attr => ({ ...attr, ino: slot * SLOT + attr.ino });
  /** The container of an inode number and its own number there; EPERM for the root. */
  const split = (node: number): [number, NodeOps, number] => {
    const slot = Math.floor(node / SLOT);
    const table = tables.get(slot);
    if (slot === 0) throw new ErrnoError(node === ROOT ? 'EPERM' : 'ENOENT');
    if (!table) throw new ErrnoError('ESTALE');
    return [slot, table.ops, node - slot * SLOT];
  };
  const same = (a: number, b: number) => {
    if (Math.floor(a / SLOT) !== Math.floor(b / SLOT)) throw new ErrnoError('EXDEV');
  };
  // A container's listing in the mount's inode numbers, made once per listing.
  const translated = new WeakMap<Listing, Listing>();

  return {
    lookup(parent, name) {
      if (parent !== ROOT) {
        const [slot, ops, ino] = split(parent);
        const attr = ops.lookup(ino, name);
        return attr && outer(slot, attr);
      }
      const slot = slotOf(name);
      return slot === undefined ? undefined : outer(slot, tables.get(slot)!.ops.getattr(ROOT));
    },
    getattr(node) {
      if (node === ROOT) return rootAttr();
      const [slot, ops, ino] = split(node);
      return outer(slot, ops.getattr(ino));
    },
    setattr(node, changes) {
      const [slot, ops, ino] = split(node);
      return outer(slot, ops.setattr(ino, changes));
    },
    readlink(node) {
      const [, ops, ino] = split(node);
      return ops.readlink(ino);
    },
    mknod(parent, name, mode, rdev, caller) {
      const [slot, ops, ino] = split(parent);
      return outer(slot, ops.mknod(ino, name, mode, rdev, caller));
    },
    mkdir(parent, name, mode, caller) {
      const [slot, ops, ino] = split(parent);
      return outer(slot, ops.mkdir(ino, name, mode, caller));
    },
    symlink(parent, name, target, caller) {
      const [slot, ops, ino] = split(parent);
      return outer(slot, ops.symlink(ino, name, target, caller));
    },
    link(node, parent, name) {
      same(node, parent);
      const [slot, ops, ino] = split(node);
      return outer(slot, ops.link(ino, split(parent)[2], name));
    },
    unlink(parent, name) {
      const [, ops, ino] = split(parent);
      ops.unlink(ino, name);
    },
    rmdir(parent, name) {
      const [, ops, ino] = split(parent);
      ops.rmdir(ino, name);
    },
    rename(parent, name, newParent, newName, flags) {
      same(parent, newParent);
      const [, ops, ino] = split(parent);
      ops.rename(ino, name, split(newParent)[2], newName, flags);
    },
    create(parent, name, mode, caller) {
      const [slot, ops, ino] = split(parent);
      return outer(slot, ops.create(ino, name, mode, caller));
    },
    retain(node) {
      // A container's root, named by the mount's root, is one of its inodes like any other.
      const [, ops, ino] = split(node);
      ops.retain(ino);
    },
    forget(node) {
      const [, ops, ino] = split(node);
      ops.forget(ino);
    },
    readReady(node, position, length) {
      const [, ops, ino] = split(node);
      return ops.readReady?.(ino, position, length);
    },
    read(node, position, length, target, offset) {
      const [, ops, ino] = split(node);
      return ops.read(ino, position, length, target, offset);
    },
    backing(node) {
      if (node === ROOT) return undefined;
      const [, ops, ino] = split(node);
      return ops.backing?.(ino);
    },
    writeBacking(node) {
      if (node === ROOT) return undefined;
      const [, ops, ino] = split(node);
      return ops.writeBacking?.(ino);
    },
    releaseWriteBacking(node) {
      const [, ops, ino] = split(node);
      ops.releaseWriteBacking?.(ino);
    },
    write(node, position, bytes, killPrivileges) {
      const [, ops, ino] = split(node);
      return ops.write(ino, position, bytes, killPrivileges);
    },
    statfs(node) {
      // The containers of one mount share a store: the root answers as the first one opened.
      const table = node === ROOT ? tables.values().next().value : tables.get(Math.floor(node / SLOT));
      return table?.view.statfs();
    },
    fsync(node) {
      if (node === ROOT) return;
      const [, ops, ino] = split(node);
      ops.fsync(ino);
    },
    entries(node) {
      if (node === ROOT) {
        // Names only: attributes would open every container; the kernel looks up what it needs.
        return listing([
          { name: '.', ino: ROOT, mode: 0o40555 },
          { name: '..', ino: ROOT, mode: 0o40555 },
          ...names().map((name) => ({ name, ino: slotNumber(name) * SLOT + ROOT, mode: 0o40755 })),
        ]);
      }
      const [slot, ops, ino] = split(node);
      const inner = ops.entries(ino);
      let outerList = translated.get(inner);
      if (!outerList) {
        const entries = inner.entries.map((entry) => ({ ...entry, ino: slot * SLOT + entry.ino, attr: entry.attr && outer(slot, entry.attr) }));
        translated.set(inner, (outerList = { entries, cookies: inner.cookies }));
      }
      return outerList;
    },
    getxattr(node, name) {
      if (node === ROOT) return undefined;
      const [, ops, ino] = split(node);
      return ops.getxattr(ino, name);
    },
    listxattr(node) {
      if (node === ROOT) return [];
      const [, ops, ino] = split(node);
      return ops.listxattr(ino);
    },
    setxattr(node, name, value, flags) {
      const [, ops, ino] = split(node);
      ops.setxattr(ino, name, value, flags);
    },
    removexattr(node, name) {
      const [, ops, ino] = split(node);
      ops.removexattr(ino, name);
    },
    access(node) {
      if (node === ROOT) return;
      const [, ops, ino] = split(node);
      ops.access(ino);
    },
    // Containers opened later are observed as they are opened.
    observe(observer) {
      listener = observer;
      for (const [slot, table] of tables) table.stop = watch(slot, table.ops);
      return () => {
        listener = undefined;
        for (const table of tables.values()) table.stop?.();
      };
    },
  };
}
