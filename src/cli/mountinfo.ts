import * as fs from 'node:fs';

/** A mount as /proc/self/mountinfo gives it. */
export interface MountEntry {
  /** `fuse.layerfs` (our addon), `fuse` (libfuse 2), `tmpfs`, ... */
  fstype: string;
  /** What was mounted: `layerfs` for a layerfs mount. */
  source: string;
}

/** The mount at a path now (the last one mounted there), from /proc/self/mountinfo (Linux). */
export function mountAt(resolved: string): MountEntry | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let found: MountEntry | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (unescape(fields[4] ?? '') !== resolved) continue;
    // Optional fields end with '-', then the filesystem type and the source.
    const dash = fields.indexOf('-', 6);
    found = { fstype: fields[dash + 1] ?? '', source: unescape(fields[dash + 2] ?? '') };
  }
  return found;
}

/** Whether a path is a mount point now. */
export function isMountPoint(resolved: string): boolean {
  return mountAt(resolved) !== undefined;
}

/** A layerfs FUSE mount: ours through the addon (`fuse.layerfs`) or through fuse-native (`fuse`, source `layerfs`). */
export function isLayerfsMount(entry: MountEntry): boolean {
  return entry.fstype === 'fuse.layerfs' || (entry.fstype.startsWith('fuse') && entry.source === 'layerfs');
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
