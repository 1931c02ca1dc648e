import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run test files one after another so timing-sensitive tests are not starved.
    fileParallelism: false,
    pool: 'forks',
  },
});
