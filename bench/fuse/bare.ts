/**
 * The floor under layerfs's FUSE numbers: a bare fuse-native filesystem that serves an in-memory
 * copy of a directory with the mount options src/fuse/mount.ts uses, and nothing else (no layers,
 * no store, no union rules). Run as a child process like serve.ts:
 *
 *   bare.ts --mount MNT --source DIR
 *
 * prints `ready {json}` once mounted; SIGTERM, SIGINT or the end of stdin unmount and exit. What
 * layerfs loses against this is the adapter and the core; what this loses against fuse-overlayfs
 * is fuse-native and libfuse2's high-level API.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type FuseClass from 'fuse-native';

type Reply = (result: number, ...values: unknown[]) => void;

interface Node {
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  mtime: number;
  data?: Buffer;
  size: number;
  children?: Set<string>;
}

const { values: flags } = parseArgs({ options: { mount: { type: 'string' }, source: { type: 'string' } } });
if (!flags.mount || !flags.source) throw new Error('usage: bare.ts --mount MNT --source DIR');

const started = performance.now();
const nodes = new Map<string, Node>();
let nextIno = 1;
const load = (host: string, at: string) => {
  const stat = fs.lstatSync(host);
  const node: Node = { mode: stat.mode, uid: stat.uid, gid: stat.gid, ino: nextIno++, mtime: stat.mtimeMs, size: stat.size };
  nodes.set(at, node);
  if (stat.isDirectory()) {
    node.children = new Set(fs.readdirSync(host).sort());
    node.size = 4096;
    for (const name of node.children) load(path.join(host, name), path.posix.join(at, name));
  } else if (stat.isFile()) {
    node.data = fs.readFileSync(host);
  }
};
load(flags.source, '/');

const ENOENT = -2;
const EEXIST = -17;
const ENODATA = -61;
const handles = new Map<number, Node>();
let nextHandle = 1;
const attributes = (node: Node) => ({
  mode: node.mode,
  uid: node.uid,
  gid: node.gid,
  size: node.size,
  nlink: node.children ? 2 : 1,
  ino: node.ino,
  rdev: 0,
  blocks: Math.ceil(node.size / 512),
  blksize: 4096,
  atime: node.mtime,
  mtime: node.mtime,
  ctime: node.mtime,
});
const add = (at: string, node: Node): boolean => {
  const parent = nodes.get(path.posix.dirname(at));
  if (!parent?.children || nodes.has(at)) return false;
  parent.children.add(path.posix.basename(at));
  nodes.set(at, node);
  return true;
};

const ops = {
  getattr: (at: string, reply: Reply) => {
    const node = nodes.get(at);
    return node ? reply(0, attributes(node)) : reply(ENOENT);
  },
  readdir: (at: string, reply: Reply) => {
    const node = nodes.get(at);
    return node?.children ? reply(0, ['.', '..', ...node.children]) : reply(ENOENT);
  },
  open: (at: string, _flags: number, reply: Reply) => {
    const node = nodes.get(at);
    if (!node) return reply(ENOENT);
    handles.set(nextHandle, node);
    return reply(0, nextHandle++);
  },
  create: (at: string, mode: number, reply: Reply) => {
    const node: Node = { mode, uid: 0, gid: 0, ino: nextIno++, mtime: Date.now(), data: Buffer.alloc(0), size: 0 };
    if (!add(at, node)) return reply(EEXIST);
    handles.set(nextHandle, node);
    return reply(0, nextHandle++);
  },
  release: (_at: string, handle: number, reply: Reply) => {
    handles.delete(handle);
    return reply(0);
  },
  read: (_at: string, handle: number, buffer: Buffer, length: number, position: number, reply: Reply) => {
    const data = handles.get(handle)?.data;
    if (!data) return reply(ENOENT);
    return reply(data.copy(buffer, 0, position, Math.min(data.length, position + length)));
  },
  write: (_at: string, handle: number, buffer: Buffer, length: number, position: number, reply: Reply) => {
    const node = handles.get(handle);
    if (!node?.data) return reply(ENOENT);
    const end = position + length;
    if (end > node.data.length) node.data = Buffer.concat([node.data, Buffer.alloc(end - node.data.length)]);
    buffer.copy(node.data, position, 0, length);
    node.size = node.data.length;
    node.mtime = Date.now();
    return reply(length);
  },
  mkdir: (at: string, mode: number, reply: Reply) =>
    reply(add(at, { mode: 0o040000 | mode, uid: 0, gid: 0, ino: nextIno++, mtime: Date.now(), size: 4096, children: new Set() }) ? 0 : EEXIST),
  getxattr: (_at: string, _name: string, _position: number, reply: Reply) => reply(ENODATA),
  listxattr: (_at: string, reply: Reply) => reply(0, []),
  statfs: (_at: string, reply: Reply) =>
    reply(0, { bsize: 4096, frsize: 4096, blocks: 2 ** 31, bfree: 2 ** 30, bavail: 2 ** 30, files: 2 ** 31, ffree: 2 ** 30, favail: 2 ** 30, fsid: 1, flag: 0, namemax: 255 }),
};

// The options of src/fuse/mount.ts (kept in step by hand): use_ino, big writes, 1 s timeouts,
// auto_cache, kernel permission checks, no per-request timer.
const cache = 1;
const Fuse = createRequire(import.meta.url)('fuse-native') as typeof FuseClass;
const fuse = new Fuse(flags.mount, ops as never, {
  fsname: `bare,use_ino,big_writes,max_write=131072,attr_timeout=${cache},entry_timeout=${cache}`,
  force: true,
  timeout: false,
  defaultPermissions: true,
  maxRead: 1024 * 1024,
  autoCache: true,
});
const loadSeconds = (performance.now() - started) / 1000;
await new Promise<void>((resolve, reject) => fuse.mount((error) => (error ? reject(error) : resolve())));
console.log(`ready ${JSON.stringify({ loadSeconds, inodes: nodes.size })}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  fuse.unmount(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
