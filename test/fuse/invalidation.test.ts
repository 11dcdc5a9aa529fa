import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from './daemon.js';
import { fuseDevice } from '../../src/fuse/kernel/native.js';

const unavailable = fuseUnavailable() ?? (fuseDevice() instanceof Error ? 'the FUSE addon is not built' : undefined);
if (unavailable) console.warn(`SKIPPED: FUSE invalidation tests: ${unavailable}`);

/** Waits (asynchronously: the mount is served by a child) until `check` holds, up to 3 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + 3000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    if (await check()) return true;
  }
  return false;
}

/**
 * Changes made through the in-memory API of the serving process show through the mount at once,
 * although the kernel may cache names, attributes and pages for 60 s there.
 */
describe.skipIf(unavailable !== undefined)('a mount sees changes made through the API of its own process', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-inval-'));
  const mnt = path.join(root, 'mnt');
  let child: ChildProcess;
  let output = '';
  const run = async (...command: unknown[]) => {
    const before = output.split('done').length;
    child.stdin!.write(`${JSON.stringify(command)}\n`);
    while (output.split('done').length === before) await new Promise((r) => setTimeout(r, 5));
  };
  const at = (name: string) => path.join(mnt, name);

  beforeAll(async () => {
    fs.mkdirSync(mnt);
    child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'api-serve.ts'), mnt], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => output.includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`daemon exited with ${code}`)));
    });
  });
  afterAll(async () => {
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('new content of a file the kernel has cached', async () => {
    expect(await fs.promises.readFile(at('file.txt'), 'utf8')).toBe('old content\n');
    // A read makes the kernel ask for attributes once more (atime); after this stat it trusts them.
    expect((await fs.promises.stat(at('file.txt'))).size).toBe(12);
    await run('writeFileSync', '/file.txt', 'new content, longer than before\n');
    expect(await eventually(async () => (await fs.promises.stat(at('file.txt'))).size === 32)).toBe(true);
    expect(await fs.promises.readFile(at('file.txt'), 'utf8')).toBe('new content, longer than before\n');
  });

  it('a name the kernel remembered as missing, once created', async () => {
    await expect(fs.promises.stat(at('later.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await run('writeFileSync', '/later.txt', 'here now');
    expect(await eventually(async () => (await fs.promises.readFile(at('later.txt'), 'utf8').catch(() => '')) === 'here now')).toBe(true);
  });

  it('a removed name, and a changed mode', async () => {
    expect((await fs.promises.stat(at('gone.txt'))).isFile()).toBe(true);
    expect((await fs.promises.stat(at('dir'))).mode & 0o777).toBe(0o755);
    await run('unlinkSync', '/gone.txt');
    await run('chmodSync', '/dir', 0o700);
    expect(await eventually(async () => !(await fs.promises.access(at('gone.txt')).then(() => true, () => false)))).toBe(true);
    expect(await eventually(async () => ((await fs.promises.stat(at('dir'))).mode & 0o777) === 0o700)).toBe(true);
  });
});
