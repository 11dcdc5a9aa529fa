import { createFs } from '../../../src/index.js';
import { fixtureFromSync } from '../../../src/testing.js';
import { FIXTURE, LOWER, UPPER } from '../fixture.js';
import { USER } from './as-user.js';
import type { FsLike, Target } from './target.js';

// The umask of this process, so created modes compare equal with the node:fs target.
const umask = process.umask();

function memoryTarget(name: string, layers: Parameters<typeof fixtureFromSync>[0]): Target {
  const fixture = fixtureFromSync(layers);
  return {
    name,
    setup: async () => ({ fs: createFs(fixture.container(), { umask }) as unknown as FsLike, root: '', cleanup: () => {} }),
  };
}

/** layerfs's fs over a container of the fixture image: every change is a copy-up. */
export const memory = memoryTarget('memory', FIXTURE);

/** The same tree split over two layers, so directories are merged across them. */
export const memoryLayered = memoryTarget('memory (2 layers)', [LOWER, UPPER]);

/** layerfs's fs created for an ordinary user, beside root's fs over the same container. */
export const memoryAsUser: Target = (() => {
  const fixture = fixtureFromSync(FIXTURE);
  return {
    name: `memory as uid ${USER.uid}`,
    setup: async () => {
      const container = fixture.container();
      const as = (options: object) => createFs(container, { umask, ...options }) as unknown as FsLike;
      return { fs: as(USER), admin: as({}), root: '', cleanup: () => {} };
    },
  };
})();
