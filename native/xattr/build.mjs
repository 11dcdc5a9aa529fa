// Builds layerfs's xattr addon (native/xattr/build/Release/layerfs_xattr.node): npm postinstall.
// Only `layerfs overlay` needs it (overlay-format layers keep whiteouts and opaque marks in
// extended attributes and device nodes, which Node cannot read or make).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rebuild } from '../gyp.mjs';

if (process.platform !== 'linux') process.exit(0);
const dir = path.dirname(fileURLToPath(import.meta.url));
try {
  rebuild(dir);
  console.log(`layerfs: xattr addon built (${path.join(dir, 'build', 'Release')})`);
} catch (error) {
  console.warn(`layerfs: the xattr addon could not be built (${error.message}); \`layerfs overlay\` needs it`);
}
