import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

function has(program: string): boolean {
  try {
    execFileSync('which', [program], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export { repo };

/** Why podman cannot be run here, or undefined. */
export function podmanUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the podman test runs podman as root';
  if (!has('podman')) return 'podman is not installed (apt-get install podman)';
  if (!has('runc') && !has('crun')) return 'no OCI runtime (apt-get install runc)';
  return undefined;
}

/** The overlay mount client npm install builds (native/overlay-client), if it was built. */
export const overlayClient = path.join(repo, 'native/overlay-client/build/layerfs-overlay-client');

/**
 * An executable that runs `layerfs-overlay` from this checkout, for storage.conf's mount_program:
 * from source through tsx, or (`built`) over the bundle `npm run build` makes, as an installed
 * package runs it: the mount client itself, as `layerfs-overlay --mount-program` names it (or
 * bin/layerfs-overlay where the client was not built). Both go through the mount client and its
 * shared server where the client was built; from source the server leaves 5 s after its last
 * mount (not 60).
 */
export function layerfsOverlayProgram(dir: string, built = false): string {
  if (built && fs.existsSync(overlayClient)) return overlayClient;
  const program = path.join(dir, 'layerfs-overlay');
  const loader = path.join(repo, 'node_modules/tsx/dist/loader.mjs');
  const server = `${process.execPath} --import file://${loader} ${path.join(repo, 'src/cli/overlay-main.ts')}`;
  // containers-storage runs the program from its own directory: every path here is absolute.
  const command = built
    ? `LAYERFS_NODE=${process.execPath} exec ${path.join(repo, 'bin/layerfs-overlay')}`
    : fs.existsSync(overlayClient)
      ? `LAYERFS_OVERLAY_LINGER=$\{LAYERFS_OVERLAY_LINGER:-5} exec ${overlayClient} ${server} --`
      : `exec ${server}`;
  fs.writeFileSync(program, `#!/bin/sh\n${command} "$@"\n`, { mode: 0o755 });
  return program;
}

/**
 * Podman with a private storage root whose overlay driver mounts through `mountProgram`. The
 * storage.conf is written for reference and passed on; podman 4 honours a private root's driver
 * options reliably only as flags, so they are given as flags too.
 */
export class Podman {
  private readonly flags: string[];
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly root: string,
    mountProgram: string,
  ) {
    const graph = path.join(root, 'graph');
    const run = path.join(root, 'run');
    fs.writeFileSync(path.join(root, 'storage.conf'), [
      '[storage]',
      'driver = "overlay"',
      `graphroot = "${graph}"`,
      `runroot = "${run}"`,
      '[storage.options.overlay]',
      `mount_program = "${mountProgram}"`,
      '',
    ].join('\n'));
    const limit = (flag: string) => {
      const value = execFileSync('bash', ['-c', `ulimit -H${flag}`], { encoding: 'utf8' }).trim();
      return value === 'unlimited' ? 1048576 : Number(value);
    };
    fs.writeFileSync(path.join(root, 'containers.conf'), [
      '[engine]',
      'events_logger = "file"',
      `events_logfile_path = "${root}/events.log"`,
      'cgroup_manager = "cgroupfs"',
      `static_dir = "${root}/libpod"`,
      `tmp_dir = "${root}/tmp"`,
      `volume_path = "${root}/volumes"`,
      `runtime = "${has('runc') ? 'runc' : 'crun'}"`,
      '[containers]',
      // podman asks for more files and processes than a sandbox may grant: ask for what it has.
      `default_ulimits = ["nofile=${limit('n')}:${limit('n')}", "nproc=${Math.min(4096, limit('u'))}:${Math.min(4096, limit('u'))}"]`,
      'netns = "none"',
      '',
    ].join('\n'));
    this.flags = ['--root', graph, '--runroot', run, '--storage-driver', 'overlay', '--storage-opt', `overlay.mount_program=${mountProgram}`];
    this.env = { ...process.env, CONTAINERS_CONF: path.join(root, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(root, 'storage.conf') };
  }

  /** Runs `podman ARGS`: its standard output, or an error with its standard error. */
  run(...args: string[]): string {
    try {
      return execFileSync('podman', [...this.flags, ...args], { env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`podman ${args.join(' ')} failed: ${failed.stderr || failed.message}\n${failed.stdout ?? ''}`);
    }
  }

  /** Removes every container and image, and whatever podman left mounted under the root. */
  close(): void {
    try {
      this.run('rm', '--all', '--force');
      this.run('rmi', '--all', '--force');
    } finally {
      const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '');
      for (const mountpoint of mounts.filter((at) => at.startsWith(`${this.root}/`)).sort().reverse()) {
        execFileSync('umount', ['-l', mountpoint]);
      }
    }
  }
}
