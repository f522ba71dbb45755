import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Executor } from '../../platform/db.js';
import { dialectOf, insertRows } from '../../platform/db.js';
import { sendWithNext } from '../../platform/pg-transactions.js';

/** A column value a batch writes: text columns take strings, boolean columns booleans. */
export type Cell = string | boolean | null;
export type Row = Record<string, Cell>;

interface InsertStep {
  kind: 'insert';
  table: string;
  columns: string[];
  rows: Row[];
}

interface UpdateStep {
  kind: 'update';
  table: string;
  set: Row;
  /** Equality conditions, ANDed. */
  where: Row;
  /** And `column IN (values)`. */
  whereIn?: { column: string; values: string[] };
}

type Step = InsertStep | UpdateStep;

/**
 * The writes of one login sync (user and identity, memberships, audit, events, sync run), gathered
 * while the sync decides and run together at the end, in the order they were added.
 *
 * - PostgreSQL: as few statements as possible, normally one: each write is a data-modifying CTE
 *   (inserts take one array per column through `unnest`, and a value all rows share once, so the
 *   statement's text depends on which columns vary, never on the row count, and is prepared once per
 *   connection), and each waits for the one before it (it reads the previous one's row count
 *   first), so rows are written, row locks taken and sequence numbers (audit `seq`, events
 *   `written`) drawn in the order of the steps and of the rows, as statements one after another
 *   would. Foreign keys are checked at the end of the statement, so a
 *   row may refer to one inserted by an earlier step. A CTE's UPDATE does not see rows written by the
 *   same statement: an update that could meet a row an earlier step of the statement wrote starts a
 *   new statement.
 * - SQLite: one statement per step, as before (each is a cheap call on the connection).
 */
export class WriteBatch {
  private readonly steps: Step[] = [];

  get empty(): boolean {
    return this.steps.length === 0;
  }

  /** Inserts rows that all have the same columns (strings, booleans or null). */
  insert<R extends object>(table: string, typedRows: readonly R[]): this {
    const rows = typedRows as unknown as readonly Row[];
    if (rows.length === 0) return this;
    const columns = Object.keys(rows[0]!);
    for (const r of rows) {
      const keys = Object.keys(r);
      if (keys.length !== columns.length || !columns.every((c) => c in r)) throw new Error(`WriteBatch.insert(${table}): rows differ in their columns`);
      for (const c of columns) if (r[c] === undefined) throw new Error(`WriteBatch.insert(${table}): ${c} is undefined`);
    }
    const last = this.steps[this.steps.length - 1];
    // Consecutive inserts into one table with the same columns are one insert.
    if (last?.kind === 'insert' && last.table === table && last.columns.length === columns.length && columns.every((c, i) => last.columns[i] === c)) last.rows.push(...rows);
    else this.steps.push({ kind: 'insert', table, columns, rows: [...rows] });
    return this;
  }

  /** `UPDATE table SET set WHERE where [AND whereIn.column IN whereIn.values]`; nothing when the list is empty. */
  update(table: string, set: Row, where: Row, whereIn?: { column: string; values: readonly string[] }): this {
    if (whereIn && whereIn.values.length === 0) return this;
    this.steps.push({ kind: 'update', table, set, where, whereIn: whereIn && { column: whereIn.column, values: [...whereIn.values] } });
    return this;
  }

  /**
   * Runs the writes (in the caller's transaction) and empties the batch. `atCommit`: nothing in the
   * transaction reads them back and their errors are the transaction's: on PostgreSQL the last
   * statement may then be held and sent with the COMMIT (see pg-transactions.ts).
   */
  async flush(exec: Executor, options: { atCommit?: boolean } = {}): Promise<void> {
    const steps = this.steps.splice(0);
    if (steps.length === 0) return;
    if (dialectOf(exec) === 'pg') {
      const groups = statementGroups(steps);
      for (const [i, group] of groups.entries()) {
        const { sql, bindings } = pgStatement(group);
        if (options.atCommit && i === groups.length - 1 && (await sendWithNext(exec as Knex, [{ sql, bindings }]))) return;
        const raw = exec.raw(sql, bindings as never[]);
        const name = statementName(sql);
        await (name ? raw.options({ name }) : raw);
      }
      return;
    }
    for (const s of steps) {
      if (s.kind === 'insert') await insertRows(exec, s.table, s.rows);
      else {
        const q = exec(s.table).where(s.where);
        if (s.whereIn) q.whereIn(s.whereIn.column, s.whereIn.values);
        await q.update(s.set);
      }
    }
  }
}

/**
 * Splits steps into statements: an update starts a new one when an earlier step of the current
 * statement wrote the same table and could have written a row it matches (the update would not
 * see that write). Writes to the same table with disjoint keys (inserted organizations and
 * touched ones, say) share a statement.
 */
function statementGroups(steps: Step[]): Step[][] {
  const groups: Step[][] = [];
  let current: Step[] = [];
  for (const s of steps) {
    if (s.kind === 'update' && current.some((prev) => prev.table === s.table && !disjoint(prev, s))) {
      groups.push(current);
      current = [];
    }
    current.push(s);
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Whether no row `earlier` wrote can be one `update` matches: both keyed on one column, no key shared. */
function disjoint(earlier: Step, update: UpdateStep): boolean {
  if (!update.whereIn) return false;
  const column = update.whereIn.column;
  const keys = new Set(update.whereIn.values);
  if (earlier.kind === 'insert') return earlier.columns.includes(column) && earlier.rows.every((r) => typeof r[column] === 'string' && !keys.has(r[column]));
  // An earlier update must neither match these keys nor move a row onto one of them.
  return earlier.whereIn?.column === column && !(column in earlier.set) && earlier.whereIn.values.every((v) => !keys.has(v));
}

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`WriteBatch: unexpected identifier ${name}`);
  return `"${name}"`;
};

/** The SQL type a column's values go as (its array's element type). */
function arrayType(table: string, column: string, rows: Row[]): 'text' | 'boolean' {
  let type: 'text' | 'boolean' | null = null;
  for (const r of rows) {
    const v = r[column];
    if (v === null) continue;
    const t = typeof v === 'boolean' ? 'boolean' : typeof v === 'string' ? 'text' : null;
    if (!t || (type && type !== t)) throw new Error(`WriteBatch: ${table}.${column} mixes or has unsupported values`);
    type = t;
  }
  // A column of nulls only goes as text: fine for the text columns it is used with.
  return type ?? 'text';
}

/** One statement: each step a CTE that first waits for the one before it; see WriteBatch. */
function pgStatement(steps: Step[]): { sql: string; bindings: unknown[] } {
  const bindings: unknown[] = [];
  const param = (v: unknown, cast = ''): string => {
    bindings.push(v);
    return `?${cast}`;
  };
  const parts = steps.map((s, i) => {
    const after = i === 0 ? '' : `(SELECT count(*) FROM "w${i - 1}") >= 0`;
    if (s.kind === 'insert') {
      // A value every row shares (the user, the time, a sync run's detail) goes once, the others as
      // one array per column; row order is array order.
      const first = s.rows[0]!;
      const varying = s.columns.filter((c) => s.rows.some((r) => r[c] !== first[c]));
      const select = s.columns.map((c) => (varying.includes(c) ? `"u".${ident(c)}` : param(first[c], `::${arrayType(s.table, c, s.rows)}`)));
      const from = varying.length
        ? `unnest(${varying.map((c) => param(s.rows.map((r) => r[c]), `::${arrayType(s.table, c, s.rows)}[]`)).join(', ')}) WITH ORDINALITY AS "u"(${varying.map(ident).join(', ')}, "ord")`
        : `generate_series(1, ${param(String(s.rows.length), '::int')}) AS "u"("ord")`;
      return `INSERT INTO ${ident(s.table)} (${s.columns.map(ident).join(', ')}) SELECT ${select.join(', ')} FROM ${from}${after ? ` WHERE ${after}` : ''} ORDER BY "u"."ord" RETURNING 1`;
    }
    const set = Object.entries(s.set).map(([c, v]) => `${ident(c)} = ${param(v)}`);
    const where = Object.entries(s.where).map(([c, v]) => (v === null ? `${ident(c)} IS NULL` : `${ident(c)} = ${param(v)}`));
    if (s.whereIn) where.push(`${ident(s.whereIn.column)} = ANY(${param(s.whereIn.values, '::text[]')})`);
    if (after) where.push(after);
    return `UPDATE ${ident(s.table)} SET ${set.join(', ')} WHERE ${where.join(' AND ')} RETURNING 1`;
  });
  // The comment names what the statement writes where its text is cut short (pg_stat_activity, logs).
  const tables = [...new Set(steps.map((s) => s.table))].join(', ');
  const body = parts.length === 1 ? parts[0]! : `WITH ${parts.map((p, i) => `"w${i}" AS (${p})`).join(', ')} SELECT (SELECT count(*) FROM "w${parts.length - 1}") AS "n"`;
  return { sql: `/* orgsync writes ${tables} */ ${body}`, bindings };
}

/**
 * Named statements are parsed and planned once per connection. The texts depend on which writes a
 * sync makes and on their columns, never on the row count or values: a small fixed set, capped
 * all the same.
 */
const NAME_CAP = 100;
const names = new Map<string, string>();
function statementName(sql: string): string | undefined {
  let name = names.get(sql);
  if (name === undefined && names.size < NAME_CAP) {
    name = `orgsync_w_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    names.set(sql, name);
  }
  return name;
}
