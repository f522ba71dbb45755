import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    // A guard against hangs only (nothing here is a timing assertion): tests spawn real processes,
    // servers and a browser, which is slow on a loaded two-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests run against a database each; parallel files are isolated by schema (PostgreSQL)
    // or by their own in-memory SQLite database.
    fileParallelism: true,
  },
});
