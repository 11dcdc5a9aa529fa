import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Programs a small Debian-like root filesystem needs: a shell, coreutils, and dpkg with what it calls. */
const PROGRAMS = ['sh', 'ls', 'cat', 'id', 'rm', 'mv', 'cp', 'ln', 'mkdir', 'rmdir', 'touch', 'chmod', 'readlink', 'tar', 'diff', 'dpkg', 'dpkg-deb', 'dpkg-query', 'dpkg-split', 'ldconfig', 'start-stop-daemon'];

/** Why a root filesystem cannot be built from this machine's programs, or undefined. */
export function rootfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'chroot, device files and setuid programs need root';
  for (const tool of ['chroot', 'ldd', 'dpkg-deb', ...PROGRAMS]) {
    if (!which(tool)) return `${tool} is missing (a Debian-like machine has it: apt-get install dpkg coreutils diffutils tar)`;
  }
  return undefined;
}

function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Debian-like root filesystem in `root`, made of this machine's own programs and libraries
 * (their symlinks kept, as merged /usr has them): users root and nobody, a shadow file only root
 * reads, /dev/null, an empty dpkg database, and `rootcat`, a setuid-root copy of cat.
 */
export function buildRootfs(root: string): void {
  fs.mkdirSync(root, { recursive: true });
  const copied = new Set<string>();
  /** Copies a host path into the tree at the same place, symlinks along it as symlinks. */
  const copy = (host: string): void => {
    if (copied.has(host)) return;
    copied.add(host);
    const parts = host.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join('/')}`;
      const stat = fs.lstatSync(prefix);
      const inTree = path.join(root, prefix);
      if (stat.isSymbolicLink()) {
        const target = fs.readlinkSync(prefix);
        if (!fs.existsSync(inTree) && !isLink(inTree)) fs.symlinkSync(target, inTree);
        copy(path.resolve(path.dirname(prefix), target));
        return copy(`${path.resolve(path.dirname(prefix), target)}/${parts.slice(i).join('/')}`.replace(/\/$/, ''));
      }
      if (stat.isDirectory()) fs.mkdirSync(inTree, { recursive: true });
      else if (i === parts.length) {
        fs.copyFileSync(prefix, inTree);
        fs.chmodSync(inTree, stat.mode & 0o7777);
      }
    }
  };
  // Merged /usr keeps /bin, /sbin and /lib as symlinks into /usr: so does the tree.
  for (const top of ['/bin', '/sbin', '/lib', '/lib64']) if (fs.existsSync(top)) copy(top);
  for (const program of PROGRAMS) {
    const host = which(program)!;
    copy(host);
    for (const library of libraries(host)) copy(library);
  }
  const file = (name: string, content: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content, { mode });
    fs.chmodSync(path.join(root, name), mode);
  };
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  file('etc/group', 'root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n');
  file('etc/shadow', 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640);
  file('var/lib/dpkg/status', '');
  file('var/lib/dpkg/available', '');
  for (const dir of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/log', 'etc/dpkg/dpkg.cfg.d', 'root', 'dev']) fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  execFileSync('mknod', ['-m', '666', path.join(root, 'dev/null'), 'c', '1', '3']);
  const usrLocal = path.join(root, 'usr/local/bin');
  fs.mkdirSync(usrLocal, { recursive: true });
  fs.copyFileSync(which('cat')!, path.join(usrLocal, 'rootcat'));
  fs.chmodSync(path.join(usrLocal, 'rootcat'), 0o4755);
  fs.chmodSync(root, 0o755);
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The shared libraries a program loads, the dynamic loader among them (ldd's paths). */
function libraries(program: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [program], { encoding: 'utf8' });
  } catch {
    return []; // statically linked
  }
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((match) => match[1]!);
}

/**
 * A package made with dpkg-deb: /usr/bin/hello (a shell script saying hello) and a postinst that
 * leaves a mark in /var/lib/hello.
 */
export function buildPackage(dir: string): string {
  const tree = path.join(dir, 'hello');
  fs.mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'DEBIAN/control'), 'Package: hello\nVersion: 1.0\nArchitecture: all\nMaintainer: layerfs tests <tests@layerfs.invalid>\nDescription: says hello\n');
  fs.writeFileSync(path.join(tree, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\nmkdir -p /var/lib/hello\necho installed > /var/lib/hello/mark\n', { mode: 0o755 });
  fs.writeFileSync(path.join(tree, 'usr/bin/hello'), '#!/bin/sh\necho "hello from a package, said by uid $(id -u)"\n', { mode: 0o755 });
  const deb = path.join(dir, 'hello.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', tree, deb], { stdio: 'ignore' });
  return deb;
}
