// Builds layerfs's FUSE addon (native/fuse/build/Release/layerfs_fuse.node): npm postinstall.
// Without a C compiler mounts fall back to fuse-native, and layerfs says so when it mounts.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rebuild } from '../gyp.mjs';

if (process.platform !== 'linux') {
  console.log('layerfs: FUSE mounts need Linux; the FUSE addon is not built');
  process.exit(0);
}
const dir = path.dirname(fileURLToPath(import.meta.url));
try {
  rebuild(dir);
  console.log(`layerfs: FUSE addon built (${path.join(dir, 'build', 'Release')})`);
} catch (error) {
  console.warn(`layerfs: the FUSE addon could not be built (${error.message}); mounts fall back to fuse-native`);
}
