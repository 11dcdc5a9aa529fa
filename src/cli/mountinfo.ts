import * as fs from 'node:fs';

/** Whether a path is a mount point now, from /proc/self/mountinfo (Linux). */
export function isMountPoint(resolved: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').some((line) => unescape(line.split(' ')[4] ?? '') === resolved);
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
