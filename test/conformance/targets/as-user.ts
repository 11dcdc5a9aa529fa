import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsLike } from './target.js';

/** The user the permission tests act as: an ordinary uid and gid, no supplementary groups. */
export const USER = { uid: 1000, gid: 1000 };

let checked: { reason: string | undefined } | undefined;

/**
 * Why node:fs cannot run as another user here, or undefined when it can: it needs root, and a
 * node binary that user may run (checked once, so a child that cannot start never leaves a sync
 * call waiting for it).
 */
export function userUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'running node:fs as another user needs root (setuid)';
  if (!checked) {
    checked = { reason: undefined };
    try {
      execFileSync(process.execPath, ['-e', ''], { ...USER, stdio: 'ignore', timeout: 20_000 });
    } catch (error) {
      checked.reason = `node cannot run as uid ${USER.uid} here: ${(error as Error).message}`;
    }
  }
  return checked.reason;
}

type Reply = { value?: unknown; error?: Record<string, unknown> };

/**
 * node:fs in a child process run as USER, called synchronously: every `xxxSync` call goes to the
 * child through one FIFO and its answer comes back through another (a blocking read of a FIFO is
 * how a sync call can wait for another process). Stats, Dirents and Buffers travel as plain data.
 */
export function nodeFsAsUser(): { fs: FsLike; stop(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-as-user-'));
  fs.chmodSync(dir, 0o755);
  const [requests, replies] = [path.join(dir, 'requests'), path.join(dir, 'replies')];
  execFileSync('mkfifo', ['-m', '0666', requests, replies]);
  // A copy the user can read wherever the checkout is.
  const script = path.join(dir, 'child.mjs');
  fs.copyFileSync(path.join(import.meta.dirname, 'user-child.mjs'), script);
  fs.chmodSync(script, 0o644);
  const child: ChildProcess = spawn(process.execPath, [script, requests, replies], { ...USER, stdio: 'inherit' });
  const output = fs.openSync(requests, 'w');
  const input = fs.openSync(replies, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let pending = '';
  const call = (op: string, args: unknown[]): unknown => {
    fs.writeSync(output, `${JSON.stringify({ op, args: args.map(encode) })}\n`);
    let newline = pending.indexOf('\n');
    while (newline < 0) {
      const read = fs.readSync(input, buffer);
      if (read === 0) throw new Error('the node:fs child as another user exited');
      pending += buffer.toString('utf8', 0, read);
      newline = pending.indexOf('\n');
    }
    const reply = JSON.parse(pending.slice(0, newline)) as Reply;
    pending = pending.slice(newline + 1);
    if (reply.error) throw Object.assign(new Error(String(reply.error.message)), reply.error);
    return decode(reply.value);
  };
  const proxy = new Proxy(fs, {
    get(target, name) {
      if (typeof name === 'string' && (name.endsWith('Sync') || name === 'existsSync')) return (...args: unknown[]) => call(name, args);
      return Reflect.get(target, name);
    },
  });
  return {
    fs: proxy,
    stop: () => {
      fs.closeSync(output);
      fs.closeSync(input);
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function encode(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { $buffer: value.toString('base64') };
  if (value instanceof Date) return value.getTime() / 1000;
  return value;
}

const S_IFMT = 0o170000;

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== 'object') return value;
  if ('$buffer' in value) return Buffer.from(String(value.$buffer), 'base64');
  if ('$dirent' in value) {
    const { name, dir } = value.$dirent as { name: string; dir: boolean };
    return { name, isDirectory: () => dir, isFile: () => !dir };
  }
  if ('$stats' in value) {
    const stats = value.$stats as { mode: number };
    const type = stats.mode & S_IFMT;
    return { ...stats, isFile: () => type === 0o100000, isDirectory: () => type === 0o040000, isSymbolicLink: () => type === 0o120000 };
  }
  return value;
}
