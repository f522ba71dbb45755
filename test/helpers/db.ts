import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createDb, migrateLatest, type Db } from '../../src/platform/db.js';
import { pooledSchemaPrefix } from './pg-run.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const dialectName = TEST_DATABASE_URL ? 'postgres' : 'sqlite';

export interface TestDatabase {
  db: Db;
  /** The DATABASE_URL a child process can use to reach the same data (file-backed SQLite or PG + schema). */
  url: string;
  schema?: string;
  cleanup(): Promise<void>;
}

/**
 * A fresh database for one test: a SQLite file in its own temporary directory by default, as
 * `npm start` uses (WAL, the background checkpoint worker), or a new PostgreSQL schema when
 * TEST_DATABASE_URL is set (so parallel files and runs never collide). `sqlite-memory` is for a test
 * that says why it needs no file. `migrated` (test apps): on PostgreSQL, a schema already migrated,
 * possibly one an earlier app of this worker used and that was emptied since (see takeSchema).
 */
export async function createTestDatabase(
  kind: 'default' | 'sqlite' | 'sqlite-memory' | 'postgres' = 'default',
  options: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  const usePg = kind === 'postgres' || (kind === 'default' && !!TEST_DATABASE_URL);
  if (kind === 'sqlite-memory') {
    const db = createDb('sqlite::memory:');
    return { db, url: 'sqlite::memory:', cleanup: () => db.destroy() };
  }
  if (!usePg) {
    const dir = mkdtempSync(join(tmpdir(), 'orgsync-test-'));
    const url = `sqlite:${join(dir, 'orgsync.sqlite')}`;
    const db = createDb(url);
    return {
      db,
      url,
      cleanup: async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const pooled = options.migrated === true && RUN !== undefined;
  const schema = pooled ? await takeSchema(TEST_DATABASE_URL) : `t_${randomBytes(6).toString('hex')}`;
  if (!pooled) await withAdmin(TEST_DATABASE_URL, (a) => a.raw('CREATE SCHEMA ??', [schema]));
  const db = createDb(TEST_DATABASE_URL, { searchPath: schema, pool: { max: 5 } });
  return {
    db,
    url: withSearchPath(TEST_DATABASE_URL, schema),
    schema,
    cleanup: async () => {
      await db.destroy();
      if (pooled) await giveBack(TEST_DATABASE_URL, schema);
      else await withAdmin(TEST_DATABASE_URL, (a) => a.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]));
    },
  };
}

async function withAdmin<T>(url: string, run: (a: Knex) => Promise<T>): Promise<T> {
  const a = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    return await run(a);
  } finally {
    await a.destroy();
  }
}

/**
 * Migrated PostgreSQL schemas this worker process hands to one app after another. Creating a schema
 * and running every migration into it took about 0.58 s and dropping it 0.1 s, for each of about 400
 * apps in a run; checking a used one and emptying the tables its test wrote to takes about 0.13 s.
 * A schema is handed back only when it is exactly what the migrations made (`shapeQuery`): a test
 * that changed its tables, or migrated it up or down, gets its schema dropped instead. Pooling needs
 * the run id the global setup sets (`pg-run.ts`), whose teardown drops what is left in the pools;
 * outside a vitest run (a script importing this helper) every schema is new and dropped.
 */
const RUN = process.env.ORGSYNC_TEST_RUN;
const freeSchemas: string[] = [];
/** A freshly migrated schema: its shape, its tables besides knex's own, and its sequences. */
let reference: { shape: string; tables: string[]; sequences: { name: string; start: string }[] } | undefined;

async function takeSchema(url: string): Promise<string> {
  const free = freeSchemas.pop();
  if (free) return free;
  const schema = `${pooledSchemaPrefix(RUN!)}${randomBytes(6).toString('hex')}`;
  await withAdmin(url, async (a) => {
    await a.raw('CREATE SCHEMA ??', [schema]);
    const db = createDb(url, { searchPath: schema, pool: { max: 1 } });
    try {
      await migrateLatest(db);
    } finally {
      await db.destroy();
    }
    if (!reference) {
      const rels = await a.raw(
        `SELECT c.relname, c.relkind, s.seqstart::text AS start FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
           LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
          WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ?::regnamespace AND d.classid = 'pg_class'::regclass
          ORDER BY c.relname`,
        [schema],
      );
      const rows = rels.rows as { relname: string; relkind: string; start: string | null }[];
      reference = {
        shape: (await a.raw(`SELECT (${shapeQuery(a, schema)}) AS shape`)).rows[0].shape,
        tables: rows.filter((r) => r.relkind === 'r' && !r.relname.startsWith('knex_')).map((r) => r.relname),
        sequences: rows.filter((r) => r.relkind === 'S').map((r) => ({ name: r.relname, start: r.start! })),
      };
    }
  });
  return schema;
}

/**
 * Empties the tables the test wrote to and restarts the sequences it used, in one transaction, and
 * puts the schema back in the pool; a schema whose shape changed, or that cannot be read as the
 * reference was, is dropped instead.
 */
async function giveBack(url: string, schema: string): Promise<void> {
  await withAdmin(url, async (a) => {
    const ref = reference!;
    const probe = [
      ...ref.tables.map((t) => a.raw(`SELECT 'table' AS kind, ?::text AS name WHERE EXISTS (SELECT 1 FROM ??.??)`, [t, schema, t]).toQuery()),
      ...ref.sequences.map((q) => a.raw(`SELECT 'sequence', ?::text WHERE pg_sequence_last_value(?::regclass) IS NOT NULL`, [q.name, `"${schema}"."${q.name}"`]).toQuery()),
    ].join(' UNION ALL ');
    let found: { shape: string; written: { kind: string; name: string }[] | null } | undefined;
    try {
      found = (await a.raw(`SELECT (${shapeQuery(a, schema)}) AS shape, (SELECT json_agg(w) FROM (${probe}) w) AS written`)).rows[0];
    } catch {
      found = undefined; // a table the reference has is gone
    }
    if (!found || found.shape !== ref.shape) {
      await a.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      return;
    }
    const written = found.written ?? [];
    const tables = written.filter((w) => w.kind === 'table').map((w) => w.name);
    const statements = [
      // CASCADE: a table that references a written one is named too, or PostgreSQL refuses, empty or not.
      ...(tables.length ? [a.raw(`TRUNCATE ${tables.map(() => '??.??').join(', ')} CASCADE`, tables.flatMap((t) => [schema, t])).toQuery()] : []),
      ...written
        .filter((w) => w.kind === 'sequence')
        .map((w) => a.raw('SELECT setval(?::regclass, ?, false)', [`"${schema}"."${w.name}"`, ref.sequences.find((q) => q.name === w.name)!.start]).toQuery()),
    ];
    // One implicit transaction: a schema is handed out whole or not at all.
    if (statements.length) await a.raw(statements.join(';\n'));
    freeSchemas.push(schema);
  });
}

/**
 * Everything migrations define in a schema, as one digest: columns, defaults, indexes, constraints,
 * triggers, functions, views, sequences, types, table options and privileges, and which migrations
 * ran and whether their lock is free. The schema's own name is taken out, so two schemas compare.
 * It starts from what depends on the schema (pg_depend, by index) and follows each table by its oid:
 * catalogs scanned by namespace grow with every schema a run makes (nothing vacuums them here), and
 * such a digest took 0.2 s.
 */
function shapeQuery(a: Knex, schema: string): string {
  return a.raw(
    `WITH objs AS (
       SELECT classid, objid FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass AND refobjid = :ns::regnamespace
     ), rels AS (
       SELECT c.* FROM objs JOIN pg_class c ON c.oid = objs.objid WHERE objs.classid = 'pg_class'::regclass
     ), parts(p) AS (
       SELECT concat_ws(':', 'rel', r.relname, r.relkind, r.reloptions::text, r.relacl::text, r.relrowsecurity) FROM rels r
       UNION ALL
       SELECT concat_ws(':', 'col', r.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        a.attidentity, a.attgenerated, a.attcollation, pg_get_expr(d.adbin, d.adrelid))
         FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
       UNION ALL
       SELECT concat_ws(':', 'idx', pg_get_indexdef(i.indexrelid)) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
       UNION ALL
       SELECT concat_ws(':', 'con', r.relname, k.conname, pg_get_constraintdef(k.oid)) FROM rels r JOIN pg_constraint k ON k.conrelid = r.oid
       UNION ALL
       SELECT concat_ws(':', 'trg', pg_get_triggerdef(t.oid), t.tgenabled) FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
       UNION ALL
       SELECT concat_ws(':', 'seq', r.relname, s.seqtypid, s.seqstart, s.seqincrement, s.seqmax, s.seqcycle) FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
       UNION ALL
       SELECT concat_ws(':', 'view', r.relname, pg_get_viewdef(r.oid)) FROM rels r WHERE r.relkind IN ('v', 'm')
       UNION ALL
       SELECT concat_ws(':', 'fn', p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc), p.proconfig::text)
         FROM objs JOIN pg_proc p ON p.oid = objs.objid WHERE objs.classid = 'pg_proc'::regclass
       UNION ALL
       SELECT concat_ws(':', 'obj', objs.classid::regclass::text, t.typname) FROM objs LEFT JOIN pg_type t ON t.oid = objs.objid AND objs.classid = 'pg_type'::regclass
        WHERE objs.classid NOT IN ('pg_class'::regclass, 'pg_proc'::regclass)
     )
     SELECT concat_ws('|', md5(replace(string_agg(p, E'\\n' ORDER BY p), :ns || '.', '')),
            (SELECT string_agg(name, ',' ORDER BY id) FROM :ns:.knex_migrations),
            (SELECT string_agg(is_locked::text, ',') FROM :ns:.knex_migrations_lock))
       FROM parts`,
    { ns: schema },
  ).toQuery();
}

/** libpq `options` parameter: child processes connect with the test schema first on the search path. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * Database URLs a CLI or server process can open, each fresh: a SQLite file by default, a new
 * PostgreSQL schema when TEST_DATABASE_URL is set. Call `cleanup` after the file's tests.
 */
export function processDatabases(): { url(): Promise<string>; cleanup(): Promise<void> } {
  const made: TestDatabase[] = [];
  return {
    async url() {
      if (!TEST_DATABASE_URL) return `sqlite:${join(mkdtempSync(join(tmpdir(), 'orgsync-')), 'orgsync.sqlite')}`;
      const d = await createTestDatabase('postgres');
      made.push(d);
      return d.url;
    },
    async cleanup() {
      for (const d of made) await d.cleanup();
    },
  };
}
