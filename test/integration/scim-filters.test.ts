import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';
import { ManualClock } from '../../src/platform/clock.js';
import { dialectName } from '../helpers/db.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
let t: TestApp;
let s: ScimClient;
const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
const ids: Record<string, string> = {};

const people = [
  { userName: 'Alice@Example.com', externalId: 'EXT-A', displayName: 'Alice Ängström', name: { givenName: 'Alice', familyName: 'Zed' }, emails: [{ value: 'alice@example.com', type: 'work', primary: true }, { value: 'alice@home.org', type: 'home' }], phoneNumbers: [{ value: '+1 555 0101', type: 'mobile' }], title: 'Engineer', [ENT]: { department: 'R&D', manager: { value: 'boss-1' } } },
  { userName: 'bob@example.com', externalId: 'ext-b', displayName: 'Bob', name: { givenName: 'Bob', familyName: 'Young' }, emails: [{ value: 'bob@example.com', type: 'work' }], active: false, [ENT]: { department: 'Sales' } },
  { userName: 'carol@other.org', displayName: 'Carol 100%_off', name: { givenName: 'Carol', familyName: 'Xu' }, emails: [{ value: 'Carol@Other.org', type: 'work' }], title: 'Manager' },
  { userName: 'dave@example.com', name: { givenName: 'dave', familyName: 'Able' } },
];

beforeAll(async () => {
  t = await startTestApp({ clock });
  s = await createScimDirectory(t);
  for (const p of people) {
    clock.advance(60_000);
    const res = await s.req('POST', '/Users', { body: p });
    expect(res.status).toBe(201);
    ids[p.userName.toLowerCase()] = res.body.id;
  }
  const eng = await s.req('POST', '/Groups', { body: { displayName: 'Engineering', externalId: 'g-eng', members: [{ value: ids['alice@example.com'] }, { value: ids['dave@example.com'] }] } });
  ids.eng = eng.body.id;
  ids.sales = (await s.req('POST', '/Groups', { body: { displayName: 'Sales', members: [{ value: ids['bob@example.com'] }] } })).body.id;
});
afterAll(async () => {
  await t.close();
});

const names = async (path: string): Promise<string[]> => {
  const res = await s.req('GET', path);
  expect(res.status, res.text).toBe(200);
  expect(res.body.totalResults).toBe(res.body.Resources.length);
  return res.body.Resources.map((r: { userName?: string; displayName?: string }) => (r.userName ?? r.displayName)!.toLowerCase()).sort();
};
const users = (filter: string) => names(`/Users?filter=${encodeURIComponent(filter)}`);

describe('filters compiled to SQL (same answers on SQLite and PostgreSQL)', () => {
  it.each([
    ['userName eq "ALICE@example.COM"', ['alice@example.com']],
    ['userName sw "B"', ['bob@example.com']],
    ['userName ew "@EXAMPLE.com"', ['alice@example.com', 'bob@example.com', 'dave@example.com']],
    ['userName co "OTHER"', ['carol@other.org']],
    ['userName gt "c" and userName lt "d"', ['carol@other.org']],
    ['userName ge "dave@example.com"', ['dave@example.com']],
    ['externalId eq "EXT-A"', ['alice@example.com']],
    ['externalId eq "ext-a"', []], // externalId is caseExact
    ['externalId pr', ['alice@example.com', 'bob@example.com']],
    ['not (externalId pr)', ['carol@other.org', 'dave@example.com']],
    ['externalId ne "ext-b"', ['alice@example.com', 'carol@other.org', 'dave@example.com']],
    ['active eq false', ['bob@example.com']],
    ['active eq true and not (userName sw "a")', ['carol@other.org', 'dave@example.com']],
    ['emails.value eq "CAROL@other.org"', ['carol@other.org']],
    ['emails eq "alice@home.org"', ['alice@example.com']],
    ['emails[type eq "work" and value co "@example"]', ['alice@example.com', 'bob@example.com']],
    ['emails[type eq "home"]', ['alice@example.com']],
    ['emails[type eq "home" and value co "example"]', []],
    ['emails[primary eq true]', ['alice@example.com']],
    ['emails pr', ['alice@example.com', 'bob@example.com', 'carol@other.org']],
    ['emails[type eq "work"].value ew "other.org"', ['carol@other.org']],
    ['displayName sw "alice"', ['alice@example.com']],
    ['displayName co "100%_"', ['carol@other.org']],
    ['displayName co "%"', ['carol@other.org']],
    ['name.givenName eq "DAVE"', ['dave@example.com']],
    ['name.familyName gt "X"', ['alice@example.com', 'bob@example.com', 'carol@other.org']],
    ['title pr', ['alice@example.com', 'carol@other.org']],
    ['title eq "engineer" or title eq "MANAGER"', ['alice@example.com', 'carol@other.org']],
    ['phoneNumbers[type eq "mobile" and value sw "+1"]', ['alice@example.com']],
    ['phoneNumbers.value co "0101"', ['alice@example.com']],
    [`${ENT}:department eq "r&d"`, ['alice@example.com']],
    [`${ENT}:manager.value eq "boss-1"`, ['alice@example.com']],
    ['meta.created gt "2026-03-01T10:02:30Z"', ['carol@other.org', 'dave@example.com']],
    ['meta.lastModified le "2026-03-01T10:01:00.000Z"', ['alice@example.com']],
    ['meta.resourceType eq "User"', ['alice@example.com', 'bob@example.com', 'carol@other.org', 'dave@example.com']],
    ['(userName sw "a" or userName sw "b") and (active eq true)', ['alice@example.com']],
    ['USERNAME Eq "bob@example.com" OR displayname pr AND Active EQ False', ['bob@example.com']],
  ])('%s', async (filter, expected) => {
    expect(await users(filter)).toEqual(expected);
  });

  it('filters by id and by group membership, and groups by displayName', async () => {
    expect(await users(`id eq "${ids['bob@example.com']}"`)).toEqual(['bob@example.com']);
    expect(await names(`/Groups?filter=${encodeURIComponent(`members.value eq "${ids['dave@example.com']}"`)}`)).toEqual(['engineering']);
    expect(await names(`/Groups?filter=${encodeURIComponent('displayName eq "SALES" or externalId eq "g-eng"')}`)).toEqual(['engineering', 'sales']);
    expect(await names(`/Groups?filter=${encodeURIComponent(`members[value eq "${ids['bob@example.com']}"]`)}`)).toEqual(['sales']);
  });

  it('rejects unknown attributes and type mismatches with invalidFilter', async () => {
    for (const f of ['nope eq "x"', 'active eq "perhaps"', 'active co "t"', 'meta.created gt "yesterday"', 'emails.nope eq "x"', 'name eq "x"', 'members.display eq "x"']) {
      const res = await s.req('GET', `/${f.startsWith('members') ? 'Groups' : 'Users'}?filter=${encodeURIComponent(f)}`);
      expect([res.status, res.body.scimType], f).toEqual([400, 'invalidFilter']);
    }
  });
});

describe('paging, sorting and attribute selection', () => {
  it('pages with startIndex/count and a correct totalResults', async () => {
    const page = await s.req('GET', '/Users?startIndex=2&count=2');
    expect(page.body).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(['bob@example.com', 'carol@other.org']);
    const last = await s.req('GET', '/Users?startIndex=4&count=10');
    expect(last.body).toMatchObject({ totalResults: 4, itemsPerPage: 1 });
    const past = await s.req('GET', '/Users?startIndex=9&count=10');
    expect(past.body).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] });
    const none = await s.req('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 4, itemsPerPage: 0 });
    const filtered = await s.req('GET', `/Users?filter=${encodeURIComponent('userName ew "example.com"')}&count=1&startIndex=2`);
    expect(filtered.body).toMatchObject({ totalResults: 3, itemsPerPage: 1 });
    expect((await s.req('GET', '/Users?count=5000')).body.itemsPerPage).toBe(4); // capped at 1000, accepted
    expect((await s.req('GET', '/Users?count=abc')).status).toBe(400);
  });

  it('sorts by indexed and JSON attributes in both orders', async () => {
    expect((await s.req('GET', '/Users?sortBy=userName&sortOrder=descending')).body.Resources.map((r: { userName: string }) => r.userName.toLowerCase())).toEqual([
      'dave@example.com',
      'carol@other.org',
      'bob@example.com',
      'alice@example.com',
    ]);
    expect((await s.req('GET', '/Users?sortBy=name.familyName')).body.Resources.map((r: { name: { familyName: string } }) => r.name.familyName)).toEqual(['Able', 'Xu', 'Young', 'Zed']);
    expect((await s.req('GET', '/Users?sortBy=emails&count=1')).body.Resources[0].userName).toBe('Alice@Example.com');
    expect((await s.req('GET', '/Users?sortBy=nope')).status).toBe(400);
  });

  it('honours attributes and excludedAttributes; id and schemas always come back', async () => {
    const only = await s.req('GET', `/Users?attributes=userName,name.givenName,${ENT}:department&filter=${encodeURIComponent('userName eq "alice@example.com"')}`);
    expect(only.body.Resources[0]).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
      id: ids['alice@example.com'],
      userName: 'Alice@Example.com',
      name: { givenName: 'Alice' },
      [ENT]: { department: 'R&D' },
    });
    const without = await s.req('GET', `/Users/${ids['alice@example.com']}?excludedAttributes=emails,name.familyName,groups,id`);
    expect(without.body.emails).toBeUndefined();
    expect(without.body.groups).toBeUndefined();
    expect(without.body.name).toEqual({ givenName: 'Alice' });
    expect(without.body.id).toBe(ids['alice@example.com']);
    const withGroups = await s.req('GET', `/Users/${ids['alice@example.com']}`);
    expect(withGroups.body.groups).toEqual([expect.objectContaining({ value: ids.eng, display: 'Engineering' })]);
    const listed = await s.req('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`);
    expect(listed.body.Resources[0].groups).toEqual(withGroups.body.groups);
  });

  it('excludedAttributes=members never reads the member table', async () => {
    const queries: string[] = [];
    const listener = (q: { sql: string }) => queries.push(q.sql);
    t.container.db.on('query', listener);
    try {
      const res = await s.req('GET', '/Groups?excludedAttributes=members');
      expect(res.body.Resources.every((g: { members?: unknown }) => g.members === undefined)).toBe(true);
      const one = await s.req('GET', `/Groups/${ids.eng}?excludedAttributes=members`);
      expect(one.body.members).toBeUndefined();
      expect(queries.some((q) => q.includes('scim_group_members'))).toBe(false);
      await s.req('GET', `/Groups/${ids.eng}`);
      expect(queries.some((q) => q.includes('scim_group_members'))).toBe(true);
    } finally {
      t.container.db.removeListener('query', listener);
    }
  });
});

describe('query plans', () => {
  /** The plan of `sql`, as text; PostgreSQL is told to avoid sequential scans (a handful of rows would not need an index). */
  const planOf = async (sql: string, bindings: unknown[]): Promise<string> => {
    const db = t.container.db;
    if (dialectName === 'sqlite') {
      const rows = (await db.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as never)) as Array<{ detail: string }>;
      return rows.map((r) => r.detail).join('\n');
    }
    return db.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off');
      const res = (await trx.raw(`EXPLAIN ${sql}`, bindings as never)) as { rows: Array<{ 'QUERY PLAN': string }> };
      return res.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  };

  it('lookups by displayName and audit reads by organization use their partial indexes', async () => {
    const seen: Array<{ sql: string; bindings: unknown[] }> = [];
    const listener = (q: { sql: string; bindings?: unknown[] }) => seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
    t.container.db.on('query', listener);
    try {
      expect(await users('displayName eq "BOB"')).toEqual(['bob@example.com']);
    } finally {
      t.container.db.removeListener('query', listener);
    }
    const page = seen.find((q) => q.sql.includes('display_name_lower'));
    expect(page, seen.map((q) => q.sql).join('\n')).toBeDefined();
    // The filter's own condition, as a count of a large directory's matches runs it (without
    // statistics the planner may walk the page's created-order index instead, to skip a sort).
    const where = /FROM "scim_users" WHERE (.*) ORDER BY/.exec(page!.sql)![1]!.replace(/\$\d+/g, '?');
    expect(await planOf(`SELECT count(*) FROM "scim_users" WHERE ${where}`, page!.bindings.slice(0, 2))).toContain('scim_users_dir_display_idx');
    const audit = t.container.db('audit_events').where('organization_id', 'org-1').orderBy('seq', 'desc').limit(50).toSQL();
    expect(await planOf(audit.sql, [...audit.bindings])).toContain('audit_events_org_idx');
  });
});
