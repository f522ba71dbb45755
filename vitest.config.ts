import { defineConfig } from 'vitest/config';

/**
 * oidc-provider's advice for production deployments (in-memory storage, development login pages,
 * development keys, Node 22 recommended): the test OpenID Provider is all of that on purpose, as the
 * demo's is (src/demo/command.ts hides the same lines). Any other line it prints still shows.
 */
/**
 * Files that measure how the machine's disk keeps up (the SQLite WAL's checkpoints and restarts):
 * they run alone, after every other file, since another file's writes and fsyncs on the same disk
 * change what they measure.
 */
const ALONE = ['test/integration/sqlite-checkpoint.test.ts'];

const OP_DEVELOPMENT_ADVICE = /^oidc-provider WARNING: (a quick start development-only (in-memory adapter|feature devInteractions)|quick start development-only signing keys|Unsupported runtime\.)/;

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    globalSetup: ['./test/helpers/pg-run.ts'],
    pool: 'forks',
    // Each worker process runs test files one after another with its modules loaded once: compiling
    // the app's TypeScript per file cost about as much as running the file. Test files share no
    // state besides that (each builds its own container, database and servers).
    isolate: false,
    // Most of a test's time is spent waiting on sockets and child processes, so more files run at
    // once than the machine has cores (the default here would be one).
    maxWorkers: 3,
    // A guard against hangs only (nothing here is a timing assertion): tests spawn real processes,
    // servers and a browser, which is slow on a loaded two-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Parallel files are isolated by their own database: a SQLite file each, or a PostgreSQL schema.
    fileParallelism: true,
    onConsoleLog: (log) => (OP_DEVELOPMENT_ADVICE.test(log) ? false : undefined),
    projects: [
      // (`include` is set per project: with `extends`, a list set at the root is joined to the project's.)
      { extends: true, test: { name: 'orgsync', include: ['test/**/*.test.ts'], exclude: ['**/node_modules/**', ...ALONE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'disk', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
