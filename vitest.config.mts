import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test writes its temp files inside a folder of the run, removed afterwards (test/setup/).
    globalSetup: ['test/setup/temp-root.ts'],
    setupFiles: ['test/setup/temp-per-file.ts'],
    // Snapshots are a change guard: never written by a test run (use `npm run test:update` locally).
    update: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machines: a few forks, each test file isolated in its own process.
    pool: 'forks',
    maxWorkers: 2,
  },
});
