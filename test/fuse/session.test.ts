import { describe, expect, test } from 'vitest';
import { ErrnoError } from '../../src/errno.js';
import { unionNodeOps } from '../../src/fuse/index.js';
import type { NodeOps } from '../../src/fuse/kernel/node-ops.js';
import { Init, Op } from '../../src/fuse/kernel/protocol.js';
import { Session } from '../../src/fuse/kernel/session.js';
import { fixtureFromSync } from '../../src/testing.js';
import { FakeKernel } from './fake-kernel.js';

const fixture = fixtureFromSync({
  '/etc/hosts': '127.0.0.1 localhost\n',
  '/dir/a': 'a',
  '/dir/b': 'bb',
});

const INIT_FLAGS = Init.ASYNC_READ | Init.ATOMIC_O_TRUNC | Init.BIG_WRITES | Init.DO_READDIRPLUS | Init.MAX_PAGES | (1 << 30);

function initBody(): Buffer {
  const body = Buffer.alloc(64);
  body.writeUInt32LE(7, 0);
  body.writeUInt32LE(41, 4);
  body.writeUInt32LE(128 * 1024, 8);
  body.writeUInt32LE(INIT_FLAGS >>> 0, 12);
  return body;
}

const name = (text: string) => Buffer.from(`${text}\0`);

/** A session over a fresh container, its INIT answered; `ops` may be wrapped. */
async function start(options: { cacheSeconds?: number; wrap?: (ops: NodeOps) => NodeOps } = {}) {
  const kernel = new FakeKernel();
  const container = fixture.container();
  const base = unionNodeOps(container);
  const ops = options.wrap ? options.wrap(base) : base;
  const errors: unknown[] = [];
  const mounted = Session.mount('/mnt', ops, { cacheSeconds: options.cacheSeconds ?? 0, allowOther: false, writebackCache: false, suid: false, dev: false, source: 'layerfs', debug: false, onError: (error) => errors.push(error) }, kernel);
  const init = kernel.send(Op.INIT, 0, initBody())!;
  const session = await mounted;
  return { kernel, container, session, init, errors };
}

/** The parts of a fuse_entry_out a test looks at. */
function entry(body: Buffer) {
  return {
    nodeid: Number(body.readBigUInt64LE(0)),
    entryValid: Number(body.readBigUInt64LE(16)),
    ino: Number(body.readBigUInt64LE(40)),
    size: Number(body.readBigUInt64LE(48)),
    mtime: body.readBigInt64LE(40 + 32),
    mtimeNanos: body.readUInt32LE(40 + 52),
    mode: body.readUInt32LE(40 + 60),
  };
}

describe('the FUSE session (the kernel protocol, against a stand-in kernel)', () => {
  test('INIT: protocol 7.31, only the features asked for and offered, 1 MiB writes; the mount is live after it', async () => {
    const { init } = await start();
    expect(init.error).toBe(0);
    expect(init.body.readUInt32LE(0)).toBe(7);
    expect(init.body.readUInt32LE(4)).toBe(31);
    const flags = init.body.readUInt32LE(12);
    expect(flags & Init.DO_READDIRPLUS).toBeTruthy();
    expect(flags & Init.MAX_PAGES).toBeTruthy();
    expect(flags & Init.ATOMIC_O_TRUNC).toBe(0); // truncation comes as SETATTR: there is no OPEN
    expect(flags & Init.AUTO_INVAL_DATA).toBe(0); // not offered by this kernel
    expect(init.body.readUInt32LE(20)).toBe(1024 * 1024);
    expect(init.body.readUInt16LE(28)).toBe(256);
  });

  test('LOOKUP answers the inode with its attributes; a miss is ENOENT, or a cacheable negative entry', async () => {
    const { kernel, container } = await start();
    const found = entry(kernel.send(Op.LOOKUP, 1, name('etc'))!.body);
    expect(found.nodeid).toBe(container.resolve('/etc'));
    expect(found.mode).toBe(0o40755);
    expect(kernel.send(Op.LOOKUP, 1, name('missing'))!.error).toBe(-2);

    const cached = await start({ cacheSeconds: 5 });
    const negative = cached.kernel.send(Op.LOOKUP, 1, name('missing'))!;
    expect(negative.error).toBe(0);
    // Remembered for a second at most, whatever the cache time: a name may appear untold.
    expect(entry(negative.body)).toMatchObject({ nodeid: 0, entryValid: 1 });
  });

  test('times travel with their nanoseconds', async () => {
    const { kernel, container } = await start();
    const ino = container.resolve('/etc/hosts');
    container.utimes(ino, 1_000_000_000_123_456_789n, 2_000_000_000_987_654_321n);
    const etc = entry(kernel.send(Op.LOOKUP, 1, name('etc'))!.body).nodeid;
    const hosts = entry(kernel.send(Op.LOOKUP, etc, name('hosts'))!.body);
    expect(hosts.mtime).toBe(2_000_000_000n);
    expect(hosts.mtimeNanos).toBe(987_654_321);
  });

  test('errors: an ErrnoError is its errno, anything else EIO and reported; OPEN and unknown requests are ENOSYS', async () => {
    const { kernel, errors } = await start({
      wrap: (ops) => ({
        ...ops,
        readlink: () => {
          throw new ErrnoError('EINVAL');
        },
        getxattr: () => {
          throw new TypeError('a bug');
        },
      }),
    });
    expect(kernel.send(Op.READLINK, 1)!.error).toBe(-22);
    const xattr = Buffer.concat([Buffer.alloc(8), name('user.x')]);
    expect(kernel.send(Op.GETXATTR, 1, xattr)!.error).toBe(-5);
    expect(errors).toHaveLength(1);
    expect(kernel.send(Op.OPEN, 1, Buffer.alloc(8))!.error).toBe(-38);
    expect(kernel.send(39 /* IOCTL */, 1, Buffer.alloc(32))!.error).toBe(-38);
  });

  test('an inode is retained on the first reference the kernel takes and forgotten with the last', async () => {
    const calls: string[] = [];
    const { kernel, session } = await start({
      wrap: (ops) => ({ ...ops, retain: (node) => (calls.push(`retain ${node}`), ops.retain(node)), forget: (node) => (calls.push(`forget ${node}`), ops.forget(node)) }),
    });
    const etc = entry(kernel.send(Op.LOOKUP, 1, name('etc'))!.body).nodeid;
    kernel.send(Op.LOOKUP, 1, name('etc'));
    expect(calls).toEqual([`retain ${etc}`]);
    const forget = Buffer.alloc(8);
    forget.writeBigUInt64LE(1n);
    expect(kernel.send(Op.FORGET, etc, forget)).toBeUndefined();
    expect(calls).toEqual([`retain ${etc}`]);
    const batch = Buffer.alloc(8 + 16);
    batch.writeUInt32LE(1, 0);
    batch.writeBigUInt64LE(BigInt(etc), 8);
    batch.writeBigUInt64LE(1n, 16);
    kernel.send(Op.BATCH_FORGET, 0, batch);
    expect(calls).toEqual([`retain ${etc}`, `forget ${etc}`]);

    // An answer the kernel never took (the request was interrupted) is no reference.
    kernel.writeResult = -2;
    kernel.send(Op.LOOKUP, 1, name('dir'));
    kernel.writeResult = 0;
    expect(calls).toHaveLength(2);
    // Unmounting lets go of what the kernel held.
    const dir = entry(kernel.send(Op.LOOKUP, 1, name('dir'))!.body).nodeid;
    await session.unmount();
    expect(calls.at(-1)).toBe(`forget ${dir}`);
  });

  test('READDIRPLUS: every entry once, with attributes, resumed at the last offset; . and .. carry none', async () => {
    const { kernel, container } = await start();
    const dir = entry(kernel.send(Op.LOOKUP, 1, name('dir'))!.body).nodeid;
    const seen: { name: string; nodeid: number; off: bigint }[] = [];
    for (let offset = 0n, pass = 0; pass < 10; pass++) {
      const read = Buffer.alloc(40);
      read.writeBigUInt64LE(offset, 8);
      read.writeUInt32LE(200, 16); // room for one entry at a time
      const reply = kernel.send(Op.READDIRPLUS, dir, read)!;
      expect(reply.error).toBe(0);
      if (reply.body.length === 0) break;
      const nodeid = Number(reply.body.readBigUInt64LE(0));
      const dirent = reply.body.subarray(128);
      const length = dirent.readUInt32LE(16);
      offset = dirent.readBigUInt64LE(8);
      seen.push({ name: dirent.toString('utf8', 24, 24 + length), nodeid, off: offset });
    }
    expect(seen.map((e) => e.name).sort()).toEqual(['.', '..', 'a', 'b']);
    for (const e of seen) expect(e.nodeid).toBe(e.name.startsWith('.') ? 0 : container.resolve(`/dir/${e.name}`));
  });

  test('a change made through the API while mounted is told to the kernel, one made through the kernel is not', async () => {
    const { kernel, container } = await start();
    const etc = entry(kernel.send(Op.LOOKUP, 1, name('etc'))!.body).nodeid;
    const hosts = entry(kernel.send(Op.LOOKUP, etc, name('hosts'))!.body).nodeid;
    container.write(hosts, 0, Buffer.from('changed'));
    container.createFile('/etc/new');
    await new Promise((resolve) => setImmediate(resolve));
    const codes = kernel.notices.map((notice) => notice.readInt32LE(4));
    expect(codes.sort()).toEqual([2, 2, 3]); // the file, /etc (its mtime), and the name /etc/new
    const named = kernel.notices.find((notice) => notice.readInt32LE(4) === 3)!;
    expect(Number(named.readBigUInt64LE(16))).toBe(etc);
    expect(named.toString('utf8', 32, 32 + named.readUInt32LE(24))).toBe('new');

    kernel.notices.length = 0;
    const mkdir = Buffer.concat([Buffer.alloc(8), name('made')]);
    mkdir.writeUInt32LE(0o755, 0);
    expect(kernel.send(Op.MKDIR, 1, mkdir)!.error).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(kernel.notices).toEqual([]);
  });
});
