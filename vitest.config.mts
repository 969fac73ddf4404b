import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CI has 2 cores: keep parallelism modest so tfjs-heavy files do not starve each other.
    maxWorkers: 2,
  },
});
