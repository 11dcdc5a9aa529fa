import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirBlobStore } from '../../src/store/index.js';
import { Daemon, fuseUnavailable } from './daemon.js';

const unavailable = fuseUnavailable();
if (unavailable) console.warn(`SKIPPED: FUSE program tests: ${unavailable}`);

/** 300 KiB of text that never repeats a 64 KiB chunk. */
const BIG = Array.from({ length: 300 * 1024 / 16 }, (_, i) => `${i}`.padStart(15, '0') + '\n').join('');

const fixture = [
  {
    '/etc/hosts': '127.0.0.1 localhost\n',
    '/usr/share/doc/readme': 'docs\n'.repeat(100),
    '/usr/bin/tool': { kind: 'file', data: '#!/bin/sh\necho tool\n', mode: 0o755 },
    '/usr/lib/libx.so': { kind: 'symlink', target: 'libx.so.1' },
    '/usr/lib/libx.so.1': 'ELF',
    '/var/lib/hard': 'shared inode',
    '/var/lib/hard2': { kind: 'link', target: '/var/lib/hard' },
    '/src/main.c': '#include <stdio.h>\nint main(void) { printf("compiled on layerfs\\n"); return 0; }\n',
    // Read by one test only, after it has damaged the blobs on disk.
    '/data/intact': 'i'.repeat(150_000),
    '/data/damaged': 'd'.repeat(150_000),
    // More than a chunk: a whole object in the store, which the kernel reads itself (passthrough).
    '/data/big.bin': BIG,
  },
  { '/usr/share/doc/extra': 'from the second layer\n', '/etc/hosts': '127.0.0.1 localhost layerfs\n' },
] as const;

/** Runs a shell command inside the mount and returns its output. */
function sh(cwd: string, script: string): string {
  return execFileSync('sh', ['-c', script], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: cwd, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
}

const variants = [
  { name: 'kernel', backend: 'kernel', passthrough: true },
  { name: 'kernel, passthrough off', backend: 'kernel', passthrough: false },
  { name: 'fuse-native', backend: 'fuse-native', passthrough: false },
] as const;

// Both FUSE bindings: layerfs's own (native/fuse), with and without passthrough, and the fuse-native fallback.
describe.skipIf(unavailable !== undefined).each(variants)('ordinary programs on a mounted container ($name)', ({ backend, passthrough }) => {
  const daemon = new Daemon(fixture as never, backend, passthrough);
  let mnt = '';
  beforeAll(async () => {
    await daemon.start();
    mnt = daemon.mountpoint;
  });
  afterAll(() => daemon.dispose());

  it('tar packs the merged tree and extracts it again, hard links and symlinks kept', () => {
    sh(mnt, 'tar cf /tmp/layerfs-test.tar -C . etc usr var && mkdir -p out && tar xf /tmp/layerfs-test.tar -C out && rm /tmp/layerfs-test.tar');
    expect(fs.readFileSync(path.join(mnt, 'out/etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost layerfs\n');
    expect(fs.readlinkSync(path.join(mnt, 'out/usr/lib/libx.so'))).toBe('libx.so.1');
    expect(fs.statSync(path.join(mnt, 'out/var/lib/hard')).ino).toBe(fs.statSync(path.join(mnt, 'out/var/lib/hard2')).ino);
    expect(fs.readFileSync(path.join(mnt, 'out/usr/share/doc/extra'), 'utf8')).toBe('from the second layer\n');
  });

  it('hard links of the image show one inode to stat, and du counts them once', () => {
    expect(fs.statSync(path.join(mnt, 'var/lib/hard')).ino).toBe(fs.statSync(path.join(mnt, 'var/lib/hard2')).ino);
    expect(fs.statSync(path.join(mnt, 'var/lib/hard')).nlink).toBe(2);
    const du = sh(mnt, 'du -ab var/lib').split('\n').filter((line) => line.includes('hard'));
    expect(du).toHaveLength(1);
  });

  it('cp -a copies a tree with modes, links and times', () => {
    sh(mnt, 'cp -a usr usr-copy');
    expect(fs.statSync(path.join(mnt, 'usr-copy/bin/tool')).mode & 0o777).toBe(0o755);
    expect(fs.readlinkSync(path.join(mnt, 'usr-copy/lib/libx.so'))).toBe('libx.so.1');
    expect(sh(mnt, 'diff -r usr usr-copy && echo same')).toContain('same');
  });

  it('find lists and stats every file', () => {
    const found = sh(mnt, 'find etc usr var -type f -printf "%p %s\\n" | sort');
    expect(found).toContain('etc/hosts 28');
    expect(found).toContain('usr/share/doc/readme 500');
  });

  it('a shell script runs a program from the image and writes files', () => {
    fs.writeFileSync(path.join(mnt, 'run.sh'), '#!/bin/sh\nfor i in 1 2 3; do echo line $i >> log.txt; done\n./usr/bin/tool >> log.txt\n', { mode: 0o755 });
    sh(mnt, './run.sh');
    expect(fs.readFileSync(path.join(mnt, 'log.txt'), 'utf8')).toBe('line 1\nline 2\nline 3\ntool\n');
  });

  it('cc compiles and links a C file, and the program runs', () => {
    expect(sh(mnt, 'cc -o src/main src/main.c && ./src/main')).toBe('compiled on layerfs\n');
  });

  it('git init, add, commit and log work', () => {
    const log = sh(mnt, 'mkdir repo && cd repo && git init -q && cp ../etc/hosts . && git add hosts && git commit -qm first && echo more >> hosts && git commit -qam second && git log --format=%s && git status --porcelain');
    expect(log).toBe('second\nfirst\n');
  });

  it("python's sqlite3 writes a database", () => {
    const out = sh(mnt, `python3 -c "
import sqlite3
db = sqlite3.connect('data.db')
db.execute('create table t (k integer primary key, v text)')
db.executemany('insert into t (v) values (?)', [('row %d' % i,) for i in range(2000)])
db.commit()
print(db.execute('select count(*), max(k) from t').fetchone())
db.close()
"`);
    expect(out.trim()).toBe('(2000, 2000)');
  });

  it('extended attributes set by a program read back', () => {
    const out = sh(mnt, `python3 -c "
import os, errno
os.setxattr('etc/hosts', 'user.origin', b'layer 2')
print(os.getxattr('etc/hosts', 'user.origin').decode(), os.listxattr('etc/hosts'))
os.removexattr('etc/hosts', 'user.origin')
print(os.listxattr('etc/hosts'))
try:
    os.getxattr('etc/hosts', 'user.origin')
except OSError as e:
    print(errno.errorcode[e.errno])
"`);
    expect(out).toBe("layer 2 ['user.origin']\n[]\nENODATA\n");
  });

  it('cp -p keeps modification times (fuse-native rebuilt by native/fuse-native/build.mjs)', () => {
    sh(mnt, 'touch -d "2001-02-03 04:05:06" /tmp/layerfs-old && cp -p /tmp/layerfs-old old && rm /tmp/layerfs-old');
    expect(fs.statSync(path.join(mnt, 'old')).mtime.toISOString()).toBe(new Date('2001-02-03T04:05:06Z').toISOString());
  });

  it.skipIf(backend === 'fuse-native')('times keep their nanoseconds, and touch -m sets the modification time alone', () => {
    // fuse-native carries milliseconds, and libfuse 2 drops a utimensat that sets one time only.
    sh(mnt, 'export TZ=UTC; touch -a -d "2002-01-01 00:00:00" ns && touch -m -d "2001-02-03 04:05:06.123456789" ns');
    expect(sh(mnt, 'TZ=UTC stat -c "%x|%y" ns')).toBe('2002-01-01 00:00:00.000000000 +0000|2001-02-03 04:05:06.123456789 +0000\n');
  });

  it('a file unlinked while open stays readable and writable through its descriptor', () => {
    const out = sh(mnt, `python3 -c "
import os
fd = os.open('gone', os.O_RDWR | os.O_CREAT)
os.write(fd, b'still here')
os.unlink('gone')
os.pwrite(fd, b'S', 0)
print(os.path.exists('gone'), os.fstat(fd).st_nlink, os.pread(fd, 100, 0).decode())
os.close(fd)
"`);
    expect(out).toBe('False 0 Still here\n');
  });

  it('a new file: its bytes, mmap writes, a truncate while open and times set on it, also after remount (with passthrough the kernel writes it directly)', async () => {
    const script = `python3 -c "
import hashlib, mmap, os
data = bytearray(os.urandom(3000000))
with open('written.bin', 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
    print(os.stat('written.bin').st_size)
with open('written.bin', 'r+b') as f:
    m = mmap.mmap(f.fileno(), 0)
    m[70000:70005] = b'MMAP!'
    m.close()
    f.truncate(2500000)
data[70000:70005] = b'MMAP!'
with open('stamped.txt', 'w') as f:
    f.write('stamped')
    f.flush()
    os.utime(f.fileno(), ns=(981173106000000000, 981173106123456789))
print(hashlib.sha256(data[:2500000]).hexdigest())
"`;
    const [size, sha] = sh(mnt, script).trim().split('\n');
    expect(size).toBe('3000000');
    const check = () => sh(mnt, 'sha256sum written.bin && stat -c "%s %Y.%y" written.bin stamped.txt && cat stamped.txt');
    const seen = check();
    // fuse-native carries times in milliseconds.
    const nanos = backend === 'fuse-native' ? '123000000' : '123456789';
    expect(seen).toMatch(new RegExp(`^${sha}  written.bin\\n2500000 \\d+\\.[^\\n]+\\n7 981173106\\.2001-02-03 04:05:06\\.${nanos} \\+0000\\nstamped$`));
    await daemon.stop();
    await daemon.start();
    expect(check()).toBe(seen);
  });

  it('everything is still there after unmount and remount', async () => {
    await daemon.stop();
    await daemon.start();
    expect(fs.readFileSync(path.join(mnt, 'log.txt'), 'utf8')).toContain('tool');
    expect(sh(mnt, './src/main')).toBe('compiled on layerfs\n');
    expect(sh(mnt, 'cd repo && git log --format=%s')).toBe('second\nfirst\n');
    expect(sh(mnt, `python3 -c "import sqlite3; print(sqlite3.connect('data.db').execute('select count(*) from t').fetchone()[0])"`).trim()).toBe('2000');
    expect(fs.statSync(path.join(mnt, 'var/lib/hard')).ino).toBe(fs.statSync(path.join(mnt, 'var/lib/hard2')).ino);
  });

  it('mmap and reads of a lower file give its bytes', () => {
    const out = sh(mnt, `python3 -c "
import hashlib, mmap
with open('data/big.bin', 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print(hashlib.sha256(m[:]).hexdigest(), m[16 * 1000:16 * 1000 + 15].decode())
print(hashlib.sha256(open('data/big.bin', 'rb').read()).hexdigest())
"`);
    const sha = createHash('sha256').update(BIG).digest('hex');
    expect(out).toBe(`${sha} 000000000001000\n${sha}\n`);
  });

  it('the mount says once whether the kernel passes lower files through (after the first lower file it passed)', () => {
    const said = daemon.log.match(/FUSE passthrough \w+/g) ?? [];
    if (backend === 'kernel' && passthrough) expect(said).toEqual(['FUSE passthrough on']);
    else expect(said).toEqual([]);
  });

  it('a write into a lower file the kernel passes through copies up; the shared object is never written', () => {
    const objects = () => daemon.contentFiles().map((file): [string, string] => [file, fs.readFileSync(file).toString('latin1')]);
    const before = objects();
    const out = sh(mnt, `python3 -c "
import errno, os
r = os.open('data/big.bin', os.O_RDONLY)
head = os.pread(r, 15, 0)
try:
    os.close(os.open('data/big.bin', os.O_RDWR))
    print('writable while read')
except OSError as e:
    print(errno.errorcode[e.errno])
os.close(r)
w = os.open('data/big.bin', os.O_RDWR)
os.pwrite(w, b'written here', 100 * 1024)
os.close(w)
r = os.open('data/big.bin', os.O_RDONLY)
print(head.decode(), os.pread(r, 12, 100 * 1024).decode(), os.pread(r, 15, 0).decode(), os.fstat(r).st_size)
os.close(r)
"`);
    // The kernel wants every open of an inode passed through while one is: a writer waits (ETXTBSY).
    expect(out).toBe(`${backend === 'kernel' && passthrough ? 'ETXTBSY' : 'writable while read'}\n000000000000000 written here 000000000000000 ${300 * 1024}\n`);
    // New blobs may hold the change; every file the store had is as it was.
    const after = new Map(objects());
    for (const [file, bytes] of before) expect(after.get(file) === bytes, file).toBe(true);
  });

  it(passthrough ? 'a blob damaged on disk is found by verify; reads the kernel passes through are not rehashed' : 'a blob damaged on disk is an I/O error, never wrong bytes', async () => {
    // Every stored byte of /data/damaged (its object: 'd' only) becomes another.
    for (const file of daemon.contentFiles()) {
      const bytes = fs.readFileSync(file);
      if (bytes.length > 0 && bytes.every((byte) => byte === 0x64)) {
        fs.chmodSync(file, 0o644);
        fs.writeFileSync(file, Buffer.alloc(bytes.length, 0x78));
      }
    }
    expect(await fs.promises.readFile(path.join(mnt, 'data/intact'), 'utf8')).toBe('i'.repeat(150_000));
    if (passthrough) {
      const store = new DirBlobStore(daemon.store);
      expect([...store.digests()].filter((digest) => !store.verify(digest))).toHaveLength(2); // the 'd' chunk and the tail
      return;
    }
    await expect(fs.promises.readFile(path.join(mnt, 'data/damaged'))).rejects.toMatchObject({ code: 'EIO' });
    expect(daemon.log).toMatch(/corrupt/);
  });

  it('data a program fsynced survives SIGKILL of the daemon', async () => {
    sh(mnt, `python3 -c "
import os
fd = os.open('synced.txt', os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b'durable')
os.fsync(fd)
os.close(fd)
"`);
    await daemon.kill();
    await daemon.start();
    expect(fs.readFileSync(path.join(mnt, 'synced.txt'), 'utf8')).toBe('durable');
  });
});
