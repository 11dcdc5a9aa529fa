import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runs a child script of this folder under tsx until it has printed `count` lines starting with
 * `prefix`, then a few milliseconds more (most likely mid-write), and kills it with SIGKILL.
 * Resolves with the child's pid and the signal it died of.
 */
export async function killMidway(script: string, args: string[], prefix: string, count: number): Promise<{ pid: number; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, script), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = 0;
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      seen += data.toString().split('\n').filter((line) => line.startsWith(prefix)).length;
      if (seen >= count) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 7));
  child.kill('SIGKILL');
  return { pid: child.pid!, signal: await exited };
}
