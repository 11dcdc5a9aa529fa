import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { cleanStaleMount } from '../fuse/index.js';

/**
 * cleanStaleMount, plus the case it does not cover: a dead mount can answer ECONNABORTED (a
 * request was in flight when its connection went down) rather than ENOTCONN. Either way the
 * daemon is gone; a lazy unmount detaches it.
 */
export async function cleanDeadMount(mountpoint: string): Promise<boolean> {
  if (await cleanStaleMount(mountpoint)) return true;
  try {
    await fs.stat(mountpoint);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ECONNABORTED' && code !== 'ENOTCONN') return false;
  }
  await lazyUnmount(mountpoint);
  return true;
}

export function lazyUnmount(mountpoint: string): Promise<void> {
  return new Promise((resolve, reject) => execFile('fusermount', ['-uz', mountpoint], (error) => (error ? reject(error) : resolve())));
}
