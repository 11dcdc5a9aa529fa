import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Set in the environment of the background child: report readiness over IPC, then detach. */
export const DAEMON_ENV = 'LAYERFS_DAEMON_CHILD';

type Message = { ready: true; pid: number } | { error: string };

/** In the background child: tell the waiting parent how the mount went. */
export function notifyParent(message: Message): void {
  if (!process.send) return;
  process.send(message, () => process.disconnect?.());
}

/**
 * Runs this same command line again as a detached child (without --daemon) and waits until it
 * reports the mount live, or failed. The child's output goes to `logFile`.
 */
export async function startDaemon(argv: readonly string[], logFile: string): Promise<{ pid: number }> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  const args = argv.filter((arg) => arg !== '--daemon' && arg !== '-d');
  // execArgv carries loaders such as tsx's when run from source.
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  fs.closeSync(log);
  try {
    return await new Promise<{ pid: number }>((resolve, reject) => {
      child.on('message', (message: Message) => {
        if ('ready' in message) resolve({ pid: message.pid });
        else reject(new Error(message.error));
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => reject(new Error(`the mount daemon exited (${signal ?? `code ${code}`}) before the mount was live; see ${logFile}`)));
    });
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
}
