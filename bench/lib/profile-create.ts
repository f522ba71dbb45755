/**
 * Profile aid (not a benchmark): the statements and round trips of SCIM user creates on the
 * database of TEST_DATABASE_URL (else a SQLite file), in this process. Prints each statement of one
 * create and the time split of `n` creates.
 */
import { startTestApp } from '../../test/helpers/app.js';

const n = Number(process.env.PROFILE_CREATES ?? 200);
const t = await startTestApp({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '10000000' } });
// A schema of its own on a shared PostgreSQL: dropped however the run ends.
try {
  const conn = await t.api('POST', '/api/v1/connections', { body: { name: 'profile', type: 'oidc', idp: { issuer: 'https://idp.example.com', client_id: 'x', client_secret: 'y' }, domains: ['example.com'] } });
  const dir = await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.body.id } });
  const create = (i: number) =>
    fetch(`${t.url}/scim/v2/${dir.body.id}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dir.body.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `p${i}@example.com`, emails: [{ value: `p${i}@example.com`, primary: true }], active: true }),
    });
  for (let i = 0; i < 20; i++) await create(i);
  const statements: string[] = [];
  let queryTime = 0;
  const starts = new Map<string, bigint>();
  const byStatement = new Map<string, number>();
  t.container.db.on('query', (q: { sql: string; __knexQueryUid?: string }) => {
    statements.push(q.sql);
    if (q.__knexQueryUid) starts.set(q.__knexQueryUid, process.hrtime.bigint());
  });
  t.container.db.on('query-response', (_r: unknown, q: { sql: string; __knexQueryUid?: string }) => {
    const s = q.__knexQueryUid ? starts.get(q.__knexQueryUid) : undefined;
    if (!s) return;
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    queryTime += ms;
    const key = q.sql.replace(/\s+/g, ' ').slice(0, 48);
    byStatement.set(key, (byStatement.get(key) ?? 0) + ms);
  });
  const r = await create(1000);
  if (r.status !== 201) throw new Error(`create: ${r.status}`);
  console.log(`one create: ${statements.length} statements`);
  for (const s of statements) console.log(`  ${s.slice(0, 160)}`);
  statements.length = 0;
  queryTime = 0;
  byStatement.clear();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await create(2000 + i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`${n} sequential creates: ${(ms / n).toFixed(2)} ms each, ${(statements.length / n).toFixed(1)} statements each, ${(queryTime / n).toFixed(2)} ms of it waiting on knex statements`);
  for (const [sql, ms] of [...byStatement].sort((a, b) => b[1] - a[1])) console.log(`  ${(ms / n).toFixed(3)} ms  ${sql}`);
  const get = (path: string) => fetch(`${t.url}/scim/v2/${dir.body.id}${path}`, { headers: { authorization: `Bearer ${dir.body.token}` } }).then((r) => r.text());
  for (const [label, path] of [
    ['100-user page', (_i: number) => '/Users?startIndex=1&count=100'],
    ['userName eq lookup', (i: number) => `/Users?filter=${encodeURIComponent(`userName eq "p${2000 + (i % n)}@example.com"`)}`],
  ] as const) {
    for (let i = 0; i < 20; i++) await get(path(i));
    const s0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await get(path(i));
    console.log(`${label}: ${(Number(process.hrtime.bigint() - s0) / 1e6 / n).toFixed(2)} ms each (sequential, in process)`);
  }
} finally {
  await t.close();
}
