import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests run against a database each; parallel files are isolated by schema (PostgreSQL)
    // or by their own in-memory SQLite database.
    fileParallelism: true,
  },
});
