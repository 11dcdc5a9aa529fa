import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerArchive, writeStreamAtomic } from '../../src/image/index.js';
import { layerFromFs } from '../../src/layer/index.js';
import { MemoryBlobStore } from '../../src/store/index.js';

/** Programs the container scripts use, copied from the host with the libraries they load. */
const PROGRAMS = [
  'sh', 'ls', 'cat', 'mv', 'ln', 'dd', 'rm', 'mkdir', 'stat', 'sha256sum', 'touch', 'sync', 'wc', 'find', 'sort',
  'dpkg', 'dpkg-deb', 'dpkg-query', 'ldconfig', 'start-stop-daemon', 'tar', 'rmdir', 'cp', 'head', 'readlink', 'echo', 'true', 'diff', 'dpkg-split', 'tail', 'grep',
];

/** What the host lacks to build the fixture, or undefined. */
export function fixtureUnavailable(): string | undefined {
  for (const program of [...PROGRAMS, 'gcc', 'ldd']) {
    if (!which(program)) return `${program} is not installed (Debian: apt-get install dpkg coreutils findutils tar gcc libc-bin)`;
  }
  return undefined;
}

function which(program: string): string | undefined {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin']) {
    const file = path.join(dir, program);
    if (fs.existsSync(file)) return fs.realpathSync(file);
  }
  return undefined;
}

/** Copies a host file to the same path under `root`, following the merged-/usr layout. */
function copyInto(root: string, file: string, as = file): void {
  const target = path.join(root, as.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(fs.realpathSync(file), target);
  fs.chmodSync(target, fs.statSync(file).mode & 0o7777);
}

/** The shared libraries a program loads, from ldd. */
function libraries(file: string): string[] {
  const output = execFileSync('ldd', [file], { encoding: 'utf8' });
  return [...output.matchAll(/(\/\S+) \(0x/g)].map((match) => match[1]!);
}

/**
 * A small Debian-like root filesystem from the host's own programs (no network): a shell,
 * coreutils, dpkg with an empty database, a `rename` program that calls rename(2) once and
 * reports its errno (mv would fall back to copying on EXDEV and hide it), and a tiny .deb at
 * /root/hello.deb built with dpkg-deb.
 */
export function buildRootfs(root: string, work: string): void {
  for (const dir of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'etc/dpkg/dpkg.cfg.d', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/lib/dpkg/alternatives', 'var/log', 'tmp', 'root', 'proc', 'sys', 'dev', 'usr/share/base']) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  for (const link of ['bin', 'sbin', 'lib', 'lib64']) fs.symlinkSync(`usr/${link}`, path.join(root, link));
  const rename = path.join(work, 'rename');
  fs.writeFileSync(`${rename}.c`, [
    '#include <errno.h>',
    '#include <stdio.h>',
    '#include <string.h>',
    'int main(int argc, char **argv) {',
    '  if (argc != 3) return 2;',
    '  if (rename(argv[1], argv[2]) != 0) { printf("rename: %s\\n", strerror(errno)); return 1; }',
    '  printf("rename: ok\\n");',
    '  return 0;',
    '}',
  ].join('\n'));
  execFileSync('gcc', ['-O2', '-o', rename, `${rename}.c`]);
  const programs = PROGRAMS.map((program) => which(program)!);
  PROGRAMS.forEach((name, index) => copyInto(root, programs[index]!, `/usr/bin/${name}`));
  copyInto(root, rename, '/usr/bin/rename');
  for (const library of new Set([...programs, rename].flatMap(libraries))) copyInto(root, library);
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/available'), '');
  fs.writeFileSync(path.join(root, 'usr/share/base/README'), 'a directory of the base layer\n');
  fs.mkdirSync(path.join(root, 'usr/share/base/deeper'));
  fs.writeFileSync(path.join(root, 'usr/share/base/deeper/data'), 'x'.repeat(100_000));
  buildDeb(path.join(work, 'deb'), path.join(root, 'root/hello.deb'));
}

function buildDeb(dir: string, out: string): void {
  fs.mkdirSync(path.join(dir, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'usr/share/hello-layerfs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'DEBIAN/control'), [
    'Package: hello-layerfs',
    'Version: 1.0',
    'Architecture: all',
    'Maintainer: layerfs tests <tests@localhost>',
    'Description: a package the podman test installs',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'usr/share/hello-layerfs/hello.txt'), 'hello from a .deb\n');
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', dir, out], { stdio: 'ignore' });
}

/** The root filesystem as a `docker save` tarball (what `podman load` reads), tagged `tag`. */
export async function dockerSaveTarball(root: string, file: string, tag: string): Promise<void> {
  const store = new MemoryBlobStore();
  const layer = layerFromFs(store, fs, root);
  await writeStreamAtomic(file, dockerArchive(store, [layer], { tags: [tag] }));
}
