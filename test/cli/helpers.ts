import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The command's source, run as `node --import tsx`. */
export const mainScript = path.join(repo, 'src/cli/main.ts');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `layerfs ARGS` as a child process, as a user would (`node --import tsx src/cli/main.ts`). */
export function layerfs(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, ...args], {
      cwd: repo,
      env: { ...process.env, LAYERFS_STORE: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `layerfs --store STORE ARGS` for a fresh store folder. */
export function storeCli(): { store: string; run: (...args: string[]) => Promise<Run> } {
  const store = path.join(tempDir('layerfs-cli-'), 'store');
  return { store, run: (...args) => layerfs(['--store', store, ...args]) };
}

/** A directory of files (path -> content) to import. */
export function hostTree(files: Record<string, string | Uint8Array>): string {
  const root = tempDir('layerfs-cli-src-');
  for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), data);
  }
  return root;
}

export { fuseUnavailable } from '../fuse/daemon.js';
