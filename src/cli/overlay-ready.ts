import * as fs from 'node:fs';
import { DAEMON_ENV, notifyParent } from './daemon.js';

/** Set by bin/layerfs-overlay: the descriptor the server writes `ready` or `error MESSAGE` on. */
export const READY_FD_ENV = 'LAYERFS_READY_FD';

/**
 * Tells whoever started this server how the mount went: `layerfs overlay`'s waiting parent (over
 * IPC) or bin/layerfs-overlay (one line on a descriptor, then closed, which ends its wait).
 */
export function announce(message: { ready: true; pid: number } | { error: string }): void {
  if (process.env[DAEMON_ENV]) notifyParent(message);
  const fd = Number(process.env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd <= 2) return;
  delete process.env[READY_FD_ENV];
  try {
    fs.writeSync(fd, 'ready' in message ? 'ready\n' : `error ${message.error.replace(/\n/g, ' ')}\n`);
    fs.closeSync(fd);
  } catch {
    // The starter is gone: nobody is left to tell.
  }
}

/** Whether a starter waits for announce(). */
export function announced(): boolean {
  return process.env[DAEMON_ENV] !== undefined || process.env[READY_FD_ENV] !== undefined;
}
