import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/test/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Each provider's SDK is loaded on first use with a dynamic import; keep those imports as chunks.
  splitting: true,
});
