import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE, writeSpec } from '../fixture.js';
import { USER, nodeFsAsUser, userUnavailable } from './as-user.js';
import type { Target } from './target.js';

const EXT4_SUPER_MAGIC = 0xef53;

/** Real node:fs on a temporary directory: the reference the suite itself is checked against. */
export const node: Target = {
  name: 'node:fs',
  lacks: {
    xattr: 'skip',
    lchmod: 'skip',
    ...(process.getuid?.() === 0 ? {} : { chown: 'skip' as const }),
    // Node 22 brought fs.glob; an older Node has none to check.
    // The suite's directory sizes are ext4's; another filesystem under the temporary folder has its own.
    ...('globSync' in fs ? {} : { glob: 'skip' as const }),
    ...(fs.statfsSync(os.tmpdir()).type === EXT4_SUPER_MAGIC ? {} : { ext4DirSize: 'skip' as const }),
  },
  setup: async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-conformance-')));
    writeSpec(root, FIXTURE);
    return { fs, root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
  },
};

/** node:fs run as an ordinary user (a child process with its uid) on the same tree: the reference for permissions. */
export const nodeAsUser: Target = {
  name: `node:fs as uid ${USER.uid}`,
  unavailable: userUnavailable,
  setup: async () => {
    const handle = await node.setup();
    // mkdtemp makes the folder private to root; the user must be able to walk into it.
    fs.chmodSync(handle.root, 0o755);
    const user = nodeFsAsUser();
    return { ...handle, fs: user.fs, admin: fs, cleanup: () => (user.stop(), handle.cleanup()) };
  },
};
