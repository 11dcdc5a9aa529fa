import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lazyUnmount } from '../../src/fuse/index.js';
import type { LayerSpec } from '../../src/index.js';

/** Why a FUSE mount cannot be tested here, or undefined. */
export function fuseUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'FUSE tests need Linux';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing';
  // Root mounts with mount(2) and unmounts with umount2(2): fuse3 is needed by other users only.
  if (process.getuid?.() === 0) return undefined;
  try {
    execFileSync('which', ['fusermount3'], { stdio: 'ignore' });
  } catch {
    return 'not root, and fusermount3 is missing (apt-get install fuse3)';
  }
  return undefined;
}

/** A container mounted by a child process (test/fuse/serve.ts); stop() unmounts and saves. */
export class Daemon {
  readonly root: string;
  readonly mountpoint: string;
  private child: ChildProcess | undefined;
  private readonly fixture: string;
  private readonly state: string;
  log = '';

  /** `backend`: which FUSE binding the daemon mounts with (src/fuse/mount.ts); `passthrough` off serves every read itself. */
  constructor(
    layers: LayerSpec[],
    private readonly backend: 'kernel' | 'fuse-native' = 'kernel',
    private readonly passthrough = true,
  ) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-fuse-'));
    this.mountpoint = path.join(this.root, 'mnt');
    this.fixture = path.join(this.root, 'fixture.json');
    this.state = path.join(this.root, 'state');
    fs.mkdirSync(this.mountpoint);
    fs.mkdirSync(this.state);
    fs.writeFileSync(this.fixture, JSON.stringify(layers));
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'serve.ts'), this.mountpoint, this.fixture, this.state], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LAYERFS_FUSE_BACKEND: this.backend, LAYERFS_PASSTHROUGH: this.passthrough ? '1' : '0' },
    });
    this.child = child;
    child.stderr!.on('data', (chunk) => (this.log += chunk));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`daemon exited with ${code}: ${this.log}`)));
    });
  }

  /** The daemon's store folder (a DirBlobStore). */
  get store(): string {
    return path.join(this.state, 'store');
  }

  /** The files of the daemon's store that hold content: blobs, objects and packs. */
  contentFiles(): string[] {
    return ['blobs', 'objects'].flatMap((folder) => {
      const root = path.join(this.store, folder);
      return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).map((name) => path.join(root, name)).filter((file) => fs.statSync(file).isFile() && path.basename(file) !== 'index');
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    });
    this.child = undefined;
  }

  /** Kills the daemon without letting it save, then cleans the dead mount. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.child = undefined;
    await lazyUnmount(this.mountpoint);
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
