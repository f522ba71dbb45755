import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { backgroundReads, createDb, selectRows } from '../../src/platform/db.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { insertConnection } from '../helpers/scim-builders.js';

/**
 * SCIM list reads on a SQLite file run on the background worker's own connection
 * (src/platform/db.ts). Always SQLite: that worker exists only for a database file.
 */
let dir: string;
let c: Container;
let server: Server;
let url: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-reader-'));
  c = await createContainer({ config: loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'test-secret-0123456789' }), logger: createLogger('silent') });
  server = await new Promise((resolve) => {
    const s = createApp(c).listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The worker starts once the first connection is open; give it a moment to load.
  await new Promise((r) => setTimeout(r, 300));
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Holds a write transaction open on the pooled connection until `release` is called. */
async function holdWriteTransaction(): Promise<{ release: () => Promise<void> }> {
  await c.db.schema.createTable('probe', (tb) => tb.integer('n'));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let inside!: () => void;
  const started = new Promise<void>((r) => (inside = r));
  const writer = c.db.transaction(async (trx) => {
    await trx('probe').insert({ n: 1 });
    inside();
    await held;
  });
  await started;
  return {
    release: async () => {
      release();
      await writer;
    },
  };
}

const within = <T>(p: Promise<T>, ms = 2000) => Promise.race([p, new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), ms))]);

// SQLite only: the PostgreSQL pass skips it (the SQLite pass runs it).
describe.skipIf(Boolean(TEST_DATABASE_URL))('SQLite reads on the background connection', () => {
  it('see every committed write at once: with clients in parallel, each SCIM create is found by the very next filter', async () => {
    const connectionId = await insertConnection(c.db);
    const d = await c.directories.create({ connection_id: connectionId, name: 'reader' }, { type: 'system', id: null });
    const scim = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${url}/scim/v2/${d.id}${path}`, { method, headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    // Eight clients at once (so reads go to the worker), each creating users and looking each up.
    const reads: string[] = [];
    const listener = (q: { sql: string }) => reads.push(q.sql);
    c.db.on('query', listener);
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let i = 0; i < 10; i++) {
          const userName = `reader${client}-${i}@example.com`;
          expect((await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName })).status).toBe(201);
          const found = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
          expect(found.body.totalResults).toBe(1);
          expect(found.body.Resources[0].userName).toBe(userName);
        }
      }),
    );
    c.db.removeListener('query', listener);
    expect(reads.filter((q) => q.startsWith('SELECT "scim_users"')).length).toBe(80);
    expect(backgroundReads(c.db)).toBeGreaterThan(40); // most of the lookups ran off the request thread
    expect((await scim('GET', '/Users?count=5')).body).toMatchObject({ totalResults: 80, itemsPerPage: 5 });
  });

  it('are neither blocked by an open write transaction nor see its uncommitted rows', async () => {
    const writer = await holdWriteTransaction();
    // A read on the pooled connection would wait for that transaction to end.
    const before = backgroundReads(c.db);
    expect(await within(selectRows<{ n: number }>(c.db, 'SELECT count(*) AS "n" FROM "probe"', []))).toEqual([{ n: 0 }]);
    expect(backgroundReads(c.db)).toBe(before + 1);
    await writer.release();
    expect(await selectRows<{ n: number }>(c.db, 'SELECT count(*) AS "n" FROM "probe"', [])).toEqual([{ n: 1 }]);
  });

  it('refuse anything but a read, and report SQL errors with the driver code', async () => {
    await c.db.schema.createTable('probe', (tb) => tb.integer('n'));
    await expect(selectRows(c.db, 'INSERT INTO "probe" ("n") VALUES (?)', [5], { offThread: true })).rejects.toMatchObject({ code: 'ORGSYNC_NOT_A_READ' });
    await expect(selectRows(c.db, 'SELECT nope FROM "probe"', [], { offThread: true })).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
    expect(await c.db('probe').count<Array<{ n: number }>>({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('report a worker failure to the database log instead of dropping it', async () => {
    const errors: string[] = [];
    const file = join(dir, 'vanishing.sqlite');
    const db = createDb(`sqlite:${file}`, { log: { warn: () => {}, error: (m) => errors.push(m) } });
    // The worker thread opens the file a moment after the connection: by then it is gone.
    rmSync(file);
    const deadline = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await db.destroy();
    expect(errors).toEqual([expect.stringMatching(/^SQLite background worker failed: unable to open database file/)]);
  });
});
