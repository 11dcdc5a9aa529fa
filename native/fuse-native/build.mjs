// Rebuilds fuse-native's addon with two fixes its prebuilt 2.2.6 lacks, so that utimensat(2)
// through a mount sets the times a program asked for:
//  - utimens handed JavaScript the access time twice: every mtime set through a mount was lost
//    (touch -m, cp -p, tar x, make all depend on it);
//  - UTIME_NOW and UTIME_OMIT arrived as garbage times (touch -a left mtime at 1970).
// node-gyp-build loads build/Release in preference to the prebuilt addon. Without a compiler the
// prebuilt one stays, and layerfs says so when it mounts.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { rebuild } from '../gyp.mjs';

const require = createRequire(import.meta.url);
let root;
try {
  root = path.dirname(require.resolve('fuse-native/package.json'));
} catch {
  console.log('fuse-native is not installed: nothing to build');
  process.exit(0);
}
const source = path.join(root, 'fuse-native.c');
let text = fs.readFileSync(source, 'utf8');
const MARK = '/* layerfs: utimens fixed */';
if (!text.includes(MARK)) {
  const fixes = [
    ['FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)', 'FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)'],
    [
      'l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);',
      'l->atime = utimens_ms(&tv[0]);\n  l->mtime = utimens_ms(&tv[1]);',
    ],
    [
      'static void populate_stat (',
      // Milliseconds as fuse-native passes them, with the two special values as sentinels that
      // the JavaScript side knows (2^52 - 1 is "now", 2^52 - 2 is "leave unchanged").
      `${MARK}\nstatic uint64_t utimens_ms (const struct timespec* ts) {\n  if (ts->tv_nsec == UTIME_NOW) return 4503599627370495ULL;\n  if (ts->tv_nsec == UTIME_OMIT) return 4503599627370494ULL;\n  return timespec_to_uint64(ts);\n}\n\nstatic void populate_stat (`,
    ],
  ];
  for (const [from, to] of fixes) {
    if (!text.includes(from)) throw new Error(`fuse-native.c is not the 2.2.6 source this patch knows (missing: ${from})`);
    text = text.replace(from, to);
  }
  fs.writeFileSync(source, text);
}
try {
  rebuild(root);
  console.log(`fuse-native rebuilt with the utimens fixes (${path.join(root, 'build', 'Release')})`);
} catch (error) {
  console.warn(`fuse-native could not be rebuilt (${error.message}); mounts keep its prebuilt addon, which loses mtimes`);
}
