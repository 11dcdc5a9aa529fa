import { defineConfig } from 'tsup';

export default defineConfig({
  // The lazy-pull fetch worker is loaded by file name (src/registry/sync-fetcher.ts).
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', 'cli/main': 'src/cli/main.ts', 'registry/fetch-worker': 'src/registry/fetch-worker.ts' },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts' } },
  clean: true,
  sourcemap: true,
});
