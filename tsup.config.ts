import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', 'cli/main': 'src/cli/main.ts', 'cli/overlay-main': 'src/cli/overlay-main.ts' },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts' } },
  clean: true,
  sourcemap: true,
});
