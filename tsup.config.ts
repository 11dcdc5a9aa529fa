import { defineConfig } from 'tsup';

export default defineConfig({
  // The lazy-pull fetch worker is loaded by file name (src/registry/sync-fetcher.ts); the overlay
  // command has its own small entry (bin/layerfs-overlay).
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    'cli/main': 'src/cli/main.ts',
    'cli/overlay-main': 'src/cli/overlay-main.ts',
    'registry/fetch-worker': 'src/registry/fetch-worker.ts',
  },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts' } },
  clean: true,
  sourcemap: true,
});
