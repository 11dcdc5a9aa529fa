/**
 * The podman row of bench:fuse: `podman run --rm IMAGE true` with fuse-overlayfs and with layerfs
 * (the built bundle, as an installed package runs) as the overlay driver's mount_program, over
 * the same small image, alternating, median of `runs` each. What it measures is a container's
 * start and stop: a mount (the mount program's start-up, or for layerfs its client's request to
 * the running server) plus podman's own work.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Podman, layerfsOverlayProgram, podmanUnavailable, repo } from '../lib/podman.js';
import { buildRootfs, dockerSaveTarball, fixtureUnavailable } from '../lib/podman-rootfs.js';

export interface PodmanRow {
  runs: number;
  /** Seconds of each run, by mount program. */
  seconds: Record<string, number[]>;
  /**
   * The untimed warm-up run, timed: for layerfs it starts the mount server (a Node start), which
   * the later runs find running (it stays LAYERFS_OVERLAY_LINGER seconds after its last mount).
   */
  firstRunSeconds: Record<string, number>;
  median: Record<string, number>;
  /** fuse-overlayfs's median time / layerfs's: above 1, layerfs starts containers faster. */
  layerfsVsFuseOverlayfs: number;
}

const IMAGE = 'localhost/bench:latest';

/** Why the row cannot run, or undefined. */
export function podmanRowUnavailable(): string | undefined {
  return podmanUnavailable() ?? fixtureUnavailable() ?? (fs.existsSync('/usr/bin/fuse-overlayfs') ? undefined : 'fuse-overlayfs is not installed');
}

export async function podmanRow(scratch: string, runs: number, log: (line: string) => void): Promise<PodmanRow> {
  execFileSync('npx', ['tsup'], { cwd: repo, stdio: 'ignore' });
  const fixture = path.join(scratch, 'podman-fixture');
  fs.mkdirSync(fixture, { recursive: true });
  buildRootfs(path.join(fixture, 'rootfs'), fixture);
  const tarball = path.join(fixture, 'image.tar');
  await dockerSaveTarball(path.join(fixture, 'rootfs'), tarball, IMAGE);
  const programs: Record<string, (dir: string) => string> = {
    'fuse-overlayfs': () => '/usr/bin/fuse-overlayfs',
    layerfs: (dir) => layerfsOverlayProgram(dir, true),
  };
  const podmen: Record<string, Podman> = {};
  const seconds: Record<string, number[]> = {};
  const firstRunSeconds: Record<string, number> = {};
  try {
    for (const [index, [name, program]] of Object.entries(programs).entries()) {
      // Short: podman refuses a runroot longer than 50 characters.
      const root = path.join(scratch, `pm${index}`);
      fs.mkdirSync(root, { recursive: true });
      const podman = (podmen[name] = new Podman(root, program(root)));
      podman.run('load', '--input', tarball);
      // Warm-up: podman's own caches, the page cache, layerfs's mount server.
      const started = performance.now();
      podman.run('run', '--rm', IMAGE, 'true');
      firstRunSeconds[name] = (performance.now() - started) / 1000;
      seconds[name] = [];
    }
    for (let run = 0; run < runs; run++) {
      for (const [name, podman] of Object.entries(podmen)) {
        const started = performance.now();
        podman.run('run', '--rm', IMAGE, 'true');
        const took = (performance.now() - started) / 1000;
        seconds[name]!.push(took);
        log(`podman run #${run + 1} ${name}: ${took.toFixed(3)} s`);
      }
    }
  } finally {
    for (const podman of Object.values(podmen)) podman.close();
  }
  const median: Record<string, number> = {};
  for (const [name, list] of Object.entries(seconds)) {
    const sorted = [...list].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    median[name] = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }
  return { runs, seconds, firstRunSeconds, median, layerfsVsFuseOverlayfs: median['fuse-overlayfs']! / median.layerfs! };
}
