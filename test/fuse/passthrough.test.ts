import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { unionNodeOps } from '../../src/fuse/index.js';
import { FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH, Init, Init2, Op } from '../../src/fuse/kernel/protocol.js';
import { Session } from '../../src/fuse/kernel/session.js';
import { createFs } from '../../src/fs/index.js';
import { Container, DirBlobStore, Image, layerFromSpec } from '../../src/index.js';
import { fixtureFromSync } from '../../src/testing.js';
import { seededBytes } from '../helpers/bytes.js';
import { tempDir } from '../helpers/tmp.js';
import { FakeKernel } from './fake-kernel.js';

const fixture = fixtureFromSync({ '/lower': 'lower file', '/plain': 'no backing file' });

/** A kernel that offers passthrough and registers backing files as asked (or refuses with `refuse`). */
class PassthroughKernel extends FakeKernel {
  readonly opened: string[] = [];
  readonly writable: string[] = [];
  readonly closed: number[] = [];
  refuse = 0;
  backingOpen(_fd: number, path: string, writable?: boolean): number {
    if (this.refuse) return -this.refuse;
    this.opened.push(path);
    if (writable) this.writable.push(path);
    return this.opened.length + 100;
  }
  backingClose(_fd: number, id: number): number {
    this.closed.push(id);
    return 0;
  }
}

function initBody(flags2: number): Buffer {
  const body = Buffer.alloc(64);
  body.writeUInt32LE(7, 0);
  body.writeUInt32LE(44, 4);
  body.writeUInt32LE(128 * 1024, 8);
  body.writeUInt32LE((Init.ASYNC_READ | Init.DO_READDIRPLUS | Init.WRITEBACK_CACHE | Init.MAX_PAGES | Init.INIT_EXT) >>> 0, 12);
  body.writeUInt32LE(flags2, 16);
  return body;
}

/** A session whose ops give `/lower` a backing file; `passthrough` as the mount asks. */
async function start(options: { passthrough?: boolean; writebackCache?: boolean; flags2?: number; kernel?: PassthroughKernel; scratchDir?: string } = {}) {
  const kernel = options.kernel ?? new PassthroughKernel();
  const container = fixture.container();
  const ops = { ...unionNodeOps(container, { scratchDir: options.scratchDir }), backing: (node: number) => (node === container.resolve('/lower') ? '/store/objects/ab/lower' : undefined) };
  const lines: string[] = [];
  const mounted = Session.mount('/mnt', ops, { cacheSeconds: 0, allowOther: false, writebackCache: options.writebackCache ?? false, suid: false, dev: false, source: 'layerfs', debug: false, onError: () => {}, passthrough: options.passthrough ?? true, log: (line) => lines.push(line) }, kernel);
  const init = kernel.send(Op.INIT, 0, initBody(options.flags2 ?? Init2.PASSTHROUGH | Init2.DIRECT_IO_ALLOW_MMAP))!;
  await mounted;
  const lookup = (name: string) => Number(kernel.send(Op.LOOKUP, 1, Buffer.from(`${name}\0`))!.body.readBigUInt64LE(0));
  const open = (node: number, flags: number) => {
    const reply = kernel.send(Op.OPEN, node, Buffer.from(new Uint32Array([flags, 0]).buffer))!;
    return { error: reply.error, fh: reply.error ? 0 : Number(reply.body.readBigUInt64LE(0)), flags: reply.error ? 0 : reply.body.readUInt32LE(8), backing: reply.error ? 0 : reply.body.readInt32LE(12) };
  };
  const release = (node: number, fh: number) => {
    const body = Buffer.alloc(24);
    body.writeBigUInt64LE(BigInt(fh), 0);
    return kernel.send(Op.RELEASE, node, body)!.error;
  };
  return { kernel, init, lines, lookup, open, release, container };
}

const O_RDONLY = 0;
const O_RDWR = 2;

describe('FUSE passthrough (against a stand-in kernel)', () => {
  test('INIT negotiates protocol 7.40 with passthrough, mmap of direct-io files and a stack depth of 1', async () => {
    const { init } = await start();
    expect(init.body.readUInt32LE(4)).toBe(40);
    expect(init.body.readUInt32LE(12) & Init.INIT_EXT).toBeTruthy();
    expect(init.body.readUInt32LE(32)).toBe(Init2.PASSTHROUGH | Init2.DIRECT_IO_ALLOW_MMAP);
    expect(init.body.readUInt32LE(36)).toBe(1);
  });

  test('a read-only open of a file with a backing file is passed through, with one backing id per inode', async () => {
    const { kernel, lines, lookup, open, release } = await start();
    const lower = lookup('lower');
    const first = open(lower, O_RDONLY);
    expect(first).toEqual({ error: 0, fh: 1, flags: FOPEN_PASSTHROUGH, backing: 101 });
    expect(open(lower, O_RDONLY).backing).toBe(101);
    expect(kernel.opened).toEqual(['/store/objects/ab/lower']);
    expect(lines).toEqual(['layerfs: FUSE passthrough on: the kernel reads unchanged lower files and writes new files directly']);
    expect(open(lookup('plain'), O_RDONLY)).toEqual({ error: 0, fh: 2, flags: FOPEN_KEEP_CACHE, backing: 0 });
    expect(release(lower, 1)).toBe(0);
    expect(release(lower, 1)).toBe(0);
    kernel.send(Op.FORGET, lower, Buffer.from(new BigUint64Array([1n]).buffer));
    expect(kernel.closed).toEqual([101]);
  });

  test('a writable open is never passed through: direct io beside readers, ETXTBSY while one is passed through', async () => {
    const { lookup, open, release } = await start();
    const lower = lookup('lower');
    expect(open(lower, O_RDWR)).toEqual({ error: 0, fh: 2, flags: FOPEN_DIRECT_IO, backing: 0 });
    expect(open(lower, 0o1000)).toMatchObject({ flags: FOPEN_DIRECT_IO, backing: 0 }); // O_RDONLY | O_TRUNC
    const reader = open(lower, O_RDONLY);
    expect(open(lower, O_RDWR).error).toBe(-26);
    release(lower, reader.fh);
    expect(open(lower, O_RDWR)).toMatchObject({ error: 0, flags: FOPEN_DIRECT_IO });
  });

  test('without CAP_SYS_ADMIN the first backing file is refused: passthrough goes off, said once, opens zero-message again', async () => {
    const kernel = new PassthroughKernel();
    kernel.refuse = 1; // EPERM
    const { lines, lookup, open } = await start({ kernel });
    expect(open(lookup('lower'), O_RDONLY).error).toBe(-38); // ENOSYS: the kernel stops sending OPEN
    expect(open(lookup('plain'), O_RDONLY).error).toBe(-38);
    expect(lines).toEqual(['layerfs: FUSE passthrough off: registering a backing file needs CAP_SYS_ADMIN; reads go through the daemon']);
  });

  test('a kernel without passthrough, or a mount that does not want it, keeps zero-message open and protocol 7.31', async () => {
    for (const options of [{ flags2: 0 }, { passthrough: false }]) {
      const { init, lines, lookup, open } = await start(options);
      expect(init.body.readUInt32LE(4)).toBe(31);
      expect(init.body.readUInt32LE(32)).toBe(0);
      expect(open(lookup('lower'), O_RDONLY).error).toBe(-38);
      expect(lines).toEqual(options.passthrough === false ? [] : ['layerfs: FUSE passthrough off: this kernel does not offer it (Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH); reads go through the daemon']);
    }
  });

  test('the writeback cache is asked for only where files are not passed through (the kernel has one or the other)', async () => {
    const writeback = async (options: { passthrough?: boolean; flags2?: number }) => ((await start({ ...options, writebackCache: true })).init.body.readUInt32LE(12) & Init.WRITEBACK_CACHE) !== 0;
    expect(await writeback({})).toBe(false);
    expect(await writeback({ passthrough: false })).toBe(true);
    expect(await writeback({ flags2: 0 })).toBe(true);
  });
});

/** CREATE of `name` in the root: the new node and its open answer. */
function create(kernel: PassthroughKernel, name: string) {
  const body = Buffer.concat([Buffer.from(new Uint32Array([O_RDWR | 0o100, 0o100644, 0o022, 0]).buffer), Buffer.from(`${name}\0`)]);
  const reply = kernel.send(Op.CREATE, 1, body)!;
  expect(reply.error).toBe(0);
  const open = reply.body.subarray(128);
  return { node: Number(reply.body.readBigUInt64LE(0)), fh: Number(open.readBigUInt64LE(0)), flags: open.readUInt32LE(8), backing: open.readInt32LE(12) };
}

function sizeOf(kernel: PassthroughKernel, node: number): number {
  return Number(kernel.send(Op.GETATTR, node, Buffer.alloc(16))!.body.readBigUInt64LE(24));
}

describe('a new file written directly by the kernel (a write backing)', () => {
  test('its writer writes a private file; fsync and the last release take its bytes into the container', async () => {
    const scratchDir = tempDir();
    const { kernel, container, release } = await start({ scratchDir });
    const made = create(kernel, 'new');
    expect(made).toMatchObject({ fh: 1, flags: FOPEN_PASSTHROUGH, backing: 101 });
    expect(kernel.writable).toEqual(kernel.opened);
    const [backing] = kernel.writable;
    // The kernel writes the file; its size shows at once, its bytes in the container after fsync.
    fs.writeFileSync(backing!, 'hello');
    expect(sizeOf(kernel, made.node)).toBe(5);
    expect(createFs(container).readFileSync('/new').length).toBe(0);
    expect(kernel.send(Op.FSYNC, made.node, Buffer.alloc(16))!.error).toBe(0);
    expect(createFs(container).readFileSync('/new').toString()).toBe('hello');
    fs.appendFileSync(backing!, ' world');
    expect(release(made.node, made.fh)).toBe(0);
    expect(createFs(container).readFileSync('/new').toString()).toBe('hello world');
    expect(kernel.closed).toEqual([101]);
    expect(fs.readdirSync(scratchDir)).toEqual([]);
  });

  test('every open of it goes to the backing file meanwhile; a file open through the daemon or not empty gets none', async () => {
    const { kernel, lookup, open, release } = await start({ scratchDir: tempDir() });
    const made = create(kernel, 'new');
    expect(open(made.node, O_RDONLY)).toEqual({ error: 0, fh: 1, flags: FOPEN_PASSTHROUGH, backing: made.backing });
    expect(open(made.node, O_RDWR).backing).toBe(made.backing);
    expect(open(lookup('plain'), O_RDWR)).toMatchObject({ fh: 2, backing: 0 });
    const empty = create(kernel, 'empty');
    release(empty.node, empty.fh);
    const reader = open(empty.node, O_RDONLY);
    expect(reader).toMatchObject({ fh: 2, backing: 0 });
    expect(open(empty.node, O_RDWR)).toMatchObject({ fh: 2, backing: 0 });
  });

  test('a CREATE interrupted before the kernel took its answer leaves no backing file', async () => {
    const scratchDir = tempDir();
    const { kernel } = await start({ scratchDir });
    kernel.writeResult = -2; // ENOENT: the request was withdrawn meanwhile
    const made = create(kernel, 'new');
    expect(made.backing).toBe(101);
    expect(kernel.closed).toEqual([101]);
    expect(fs.readdirSync(scratchDir)).toEqual([]);
  });

  test('a truncate goes to the backing file, and times set on it stay until the kernel writes again', async () => {
    const { kernel, container, release } = await start({ scratchDir: tempDir() });
    const made = create(kernel, 'new');
    fs.writeFileSync(kernel.writable[0]!, 'some bytes');
    const setattr = Buffer.alloc(88);
    setattr.writeUInt32LE(8 | 32, 0); // FATTR_SIZE | FATTR_MTIME
    setattr.writeBigUInt64LE(4n, 16);
    setattr.writeBigUInt64LE(981173106n, 40); // 2001-02-03T04:05:06Z
    expect(kernel.send(Op.SETATTR, made.node, setattr)!.error).toBe(0);
    expect(sizeOf(kernel, made.node)).toBe(4);
    release(made.node, made.fh);
    expect(createFs(container).readFileSync('/new').toString()).toBe('some');
    expect(createFs(container).statSync('/new').mtimeMs).toBe(981173106000);
  });
});

describe('which files the kernel may read directly', () => {
  test('an unchanged lower file in one store object, also after chmod; not once written, nor with verifyReads', () => {
    const store = new DirBlobStore(tempDir(), { durable: false });
    const bytes = seededBytes(200 * 1024, 1);
    const image = new Image([layerFromSpec(store, { '/big': bytes, '/small': 'packed with others' })]);
    const container = new Container(image, store);
    const ops = unionNodeOps(container);
    const big = container.resolve('/big');
    const backing = ops.backing!(big)!;
    expect(Buffer.compare(fs.readFileSync(backing), bytes)).toBe(0);
    expect(ops.backing!(container.resolve('/small'))).toBeUndefined();
    expect(unionNodeOps(new Container(image, store), { verifyReads: true }).backing!(big)).toBeUndefined();
    container.chmod(big, 0o600);
    expect(ops.backing!(big)).toBe(backing);
    container.write(big, 10, Buffer.from('x'));
    expect(ops.backing!(big)).toBeUndefined();
    expect(Buffer.compare(fs.readFileSync(backing), bytes)).toBe(0);
  });
});
