import * as fs from 'node:fs';
import * as net from 'node:net';
import { parseOverlayArgs } from './overlay-args.js';
import { announce } from './overlay-ready.js';
import { type OverlayMount, mountOverlay } from './overlay-serve.js';

/** Seconds the server waits for a next mount after its last one is gone (default 60). */
export const LINGER_ENV = 'LAYERFS_OVERLAY_LINGER';

/**
 * The server the mount client (native/overlay-client) starts with LAYERFS_OVERLAY_SOCKET set:
 * one for every union a user mounts through `layerfs-overlay` in one mount namespace: the
 * mount client sends its working directory and arguments (each ended by NUL), and gets `warn`
 * lines, then `ready` once the mount is live or `error` with the reason. A podman run then costs
 * a socket round trip, not a Node start. The server exits when no mount is left for `linger`
 * seconds, and on SIGTERM unmounts everything. One process serves them all: a crash takes every
 * mount of it down, as with `layerfs mount --all`.
 */
export async function serveSocket(socketPath: string, log: (line: string) => void): Promise<void> {
  const lingerSeconds = Number(process.env[LINGER_ENV] ?? 60);
  const mounts = new Set<OverlayMount>();
  let asking = 0;
  let idle: NodeJS.Timeout | undefined;

  // Half open: the client ends its side after the request and waits for the answer.
  const server = net.createServer({ allowHalfOpen: true }, (connection) => {
    asking++;
    clearTimeout(idle);
    const parts: Buffer[] = [];
    connection.on('data', (part) => parts.push(part));
    connection.on('error', () => {});
    connection.on('end', () => {
      void answer(Buffer.concat(parts), (line) => connection.write(`${line.replace(/\n/g, ' ')}\n`)).finally(() => {
        connection.end();
        asking--;
        leaveWhenIdle();
      });
    });
  });

  const answer = async (request: Buffer, reply: (line: string) => void): Promise<void> => {
    try {
      const [cwd, ...args] = request.toString('utf8').split('\0').slice(0, -1);
      if (cwd === undefined) throw new Error('empty request');
      if (args.includes('-f')) throw new Error('-f serves in the foreground: run the server command itself');
      const parsed = parseOverlayArgs(args, cwd);
      for (const warning of parsed.warnings) reply(`warn ${warning}`);
      const served = await mountOverlay(parsed, log);
      mounts.add(served);
      void served.mount.closed?.then(() => {
        mounts.delete(served);
        leaveWhenIdle();
      });
      reply('ready');
    } catch (error) {
      log(`layerfs overlay: refused: ${(error as Error).message}`);
      reply(`error ${(error as Error).message}`);
    }
  };

  const leaveWhenIdle = () => {
    clearTimeout(idle);
    if (mounts.size > 0 || asking > 0) return;
    idle = setTimeout(() => {
      if (mounts.size > 0 || asking > 0) return;
      // The name goes first: a client from now on starts a new server instead of finding this one.
      fs.rmSync(socketPath, { force: true });
      server.close();
      log(`layerfs overlay: no mount left for ${lingerSeconds} s: the server (pid ${process.pid}) exits`);
      process.exit(0);
    }, lingerSeconds * 1000);
  };

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    fs.rmSync(socketPath, { force: true });
    server.close();
    await Promise.all([...mounts].map((served) => served.stop()));
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());

  // The client holds the starters' lock: a socket left here is a dead server's.
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log(`layerfs overlay: server (pid ${process.pid}) listening on ${socketPath}`);
  announce({ ready: true, pid: process.pid });
  leaveWhenIdle();
}
