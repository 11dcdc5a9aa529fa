import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from './command.js';
import { startDaemon } from './daemon.js';
import { announce, announced } from './overlay-ready.js';
import { OVERLAY_USAGE, type OverlayArgs, parseOverlayArgs } from './overlay-args.js';

export { parseOverlayArgs } from './overlay-args.js';

/**
 * Runs `layerfs overlay`: checks everything before mounting (a clear error, never a half-made
 * mount), then either serves in the foreground or starts itself in the background and returns
 * once the mount is live, as fuse-overlayfs does for podman's mount_program. `prefix` is what
 * came before `args` on the command line (`overlay`), for the background child.
 */
export async function runOverlay(args: readonly string[], err: (text: string) => void, prefix: readonly string[] = []): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(OVERLAY_USAGE);
    return EXIT.ok;
  }
  let parsed: OverlayArgs;
  try {
    parsed = parseOverlayArgs(args);
  } catch (error) {
    err(`layerfs overlay: ${(error as Error).message}\n${OVERLAY_USAGE}`);
    return EXIT.usage;
  }
  for (const warning of parsed.warnings) err(`layerfs overlay: ${warning}\n`);
  const child = announced();
  try {
    if (!parsed.foreground && !child) {
      // The background child checks everything before it mounts and reports a refusal here; this
      // process loads nothing more, so a mount_program call costs one extra Node start only.
      // One log per user for every background mount (each line names its mount), kept out of the
      // directories being served: a refused mount leaves nothing in them.
      const logFile = path.join(os.tmpdir(), `layerfs-overlay-${process.getuid?.() ?? 0}.log`);
      await startDaemon([...prefix, ...args, '-f'], logFile);
      return EXIT.ok;
    }
    // Loaded only by the process that serves.
    const { serve } = await import('./overlay-serve.js');
    await serve(parsed, (line) => err(`${new Date().toISOString()} ${line}\n`));
  } catch (error) {
    if (child) announce({ error: (error as Error).message });
    err(`layerfs overlay: ${(error as Error).message}\n`);
    if (process.env.LAYERFS_DEBUG) err(`${(error as Error).stack}\n`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
