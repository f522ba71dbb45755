import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';
import { dialectName } from '../helpers/db.js';

/**
 * List pages of whole users are written from the stored text (spliced, see userTextWriter)
 * instead of parsed objects. Their bytes must be those of the structured
 * rendering, which `GET /Users/{id}` still uses: each page here is compared with the single reads.
 */
let t: TestApp;
let s: ScimClient;
beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t, { domains: ['acme.test'] });
});
afterEach(async () => {
  await t.close();
});

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const create = async (body: Record<string, unknown>): Promise<string> => {
  const res = await s.req('POST', '/Users', { body });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
};

/** The single read of each user (the structured rendering), as text. */
const singles = async (ids: string[], query = '') => {
  const out: string[] = [];
  for (const id of ids) {
    const r = await s.req('GET', `/Users/${id}${query}`);
    expect(r.status, r.text).toBe(200);
    out.push(r.text);
  }
  return out;
};

const listText = (total: number, startIndex: number, resources: string[]) =>
  `{"schemas":["${LIST}"],"totalResults":${total},"startIndex":${startIndex},"itemsPerPage":${resources.length},"Resources":[${resources.join(',')}]}`;

/** Users in the order a page lists them (created_at, then id). */
const listedIds = async () => ((await s.req('GET', '/Users?count=1000&attributes=id')).body.Resources as Array<{ id: string }>).map((r) => r.id);

describe('list pages from stored text', () => {
  it('write the same bytes as the single reads: groups, the enterprise extension, unicode, escapes, inactive users', async () => {
    await create({ userName: 'plain@acme.test', name: { givenName: 'Plain', familyName: 'User' }, emails: [{ value: 'plain@acme.test', type: 'work', primary: true }] });
    const zoe = await create({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      userName: 'zoë@acme.test',
      displayName: 'Zoë 中文 😀 "quoted" \\ back\\slash',
      // U+001E and U+001F too, the separators of the SQLite page's one text (stored escaped, as JSON).
      title: 'tab\there\nnewline \u0001 control \u001e\u001f record and unit separators \u2028 separator </script>',
      active: false,
      [ENTERPRISE]: { department: 'R&D', manager: { value: 'boss-id' } },
    });
    const minimal = await create({ userName: 'minimal@acme.test' });
    const grouped = await create({ userName: 'grouped@acme.test', active: 'True' });
    // Groups listed by lower-cased display name in the bytes of UTF-8 (SQLite's order: full-width ｚ
    // before the astral 𝔸, where JavaScript's UTF-16 order puts them the other way), names needing escapes.
    for (const displayName of ['Beta "crew" ✓', 'ｚ full-width', 'alpha\\team', '𝔸 double-struck', 'Émile', 'zeta']) {
      const g = await s.req('POST', '/Groups', { body: { displayName, members: [{ value: grouped }, { value: minimal }] } });
      expect(g.status, g.text).toBe(201);
    }
    // A later change moves `active` in the stored text (PATCH rewrites it).
    const patched = await create({ userName: 'patched@acme.test', title: 'A' });
    expect((await s.req('PATCH', `/Users/${patched}`, { body: { Operations: [{ op: 'replace', value: { active: false } }] } })).status).toBe(200);

    const ids = await listedIds();
    expect(ids).toHaveLength(5);
    const texts = await singles(ids);
    // (PostgreSQL orders by its own collation; the page must still match the single read, below.)
    if (dialectName === 'sqlite') {
      expect(JSON.parse(texts[ids.indexOf(grouped)]!).groups.map((g: { display: string }) => g.display)).toEqual(['alpha\\team', 'Beta "crew" ✓', 'zeta', 'Émile', 'ｚ full-width', '𝔸 double-struck']);
    }

    // On SQLite a page is one read of one text (selectTextRows), which these values all survive.
    const statements: string[] = [];
    const record = (q: { sql: string }) => statements.push(q.sql);
    const readAsText = async (path: string) => {
      statements.length = 0;
      t.container.db.on('query', record);
      const res = await s.req('GET', path);
      t.container.db.off('query', record);
      if (dialectName === 'sqlite') expect(statements.filter((q) => /FROM "scim_users"/.test(q)).map((q) => q.startsWith('SELECT group_concat("r"'))).toEqual([true]);
      return res;
    };
    const page = await readAsText('/Users?startIndex=1&count=100');
    expect(page.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    expect(page.text).toBe(listText(5, 1, texts));
    expect(Number(page.headers.get('content-length'))).toBe(Buffer.byteLength(page.text));
    // A partial page (totalResults from the kept count), a page past the end, a lookup and .search.
    expect((await s.req('GET', '/Users?startIndex=2&count=2')).text).toBe(listText(5, 2, texts.slice(1, 3)));
    expect((await s.req('GET', '/Users?startIndex=9&count=2')).text).toBe(listText(5, 9, []));
    // sortOrder alone reverses the page's own order (on SQLite still one text, checked in that order).
    expect((await readAsText('/Users?sortOrder=descending&count=3')).text).toBe(listText(5, 1, [...texts].reverse().slice(0, 3)));
    const lookup = await s.req('GET', `/Users?filter=${encodeURIComponent('userName eq "ZOË@acme.test"')}`);
    expect(lookup.text).toBe(listText(1, 1, [texts[ids.indexOf(zoe)]!]));
    const search = await s.req('POST', '/Users/.search', { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "p"', count: 10 } });
    expect(search.text).toBe(listText(2, 1, texts.filter((x) => JSON.parse(x).userName.startsWith('p'))));
    const descending = await s.req('GET', '/Users?sortBy=userName&sortOrder=descending');
    expect(JSON.parse(descending.text).Resources.map((r: { userName: string }) => r.userName)).toEqual(['zoë@acme.test', 'plain@acme.test', 'patched@acme.test', 'minimal@acme.test', 'grouped@acme.test']);
    // The server root lists users (then groups) the same way.
    const root = JSON.parse((await s.req('GET', `/?filter=${encodeURIComponent('userName pr')}`)).text);
    expect(root.Resources.map((r: unknown) => JSON.stringify(r))).toEqual(texts);
  });

  it('projections still go through the structured rendering', async () => {
    const a = await create({ userName: 'a@acme.test', name: { givenName: 'A' }, emails: [{ value: 'a@acme.test', primary: true }] });
    const g = await s.req('POST', '/Groups', { body: { displayName: 'G', members: [{ value: a }] } });
    expect(g.status).toBe(201);
    for (const query of ['attributes=userName,groups', 'excludedAttributes=groups,emails', 'attributes=name.givenName', `excludedAttributes=${ENTERPRISE}:department`]) {
      const [single] = await singles([a], `?${query}`);
      expect((await s.req('GET', `/Users?${query}`)).text, query).toBe(listText(1, 1, [single!]));
    }
  });

  it('stored text that is not what the writers store is parsed and rendered as before', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await create({ userName: `u${i}@acme.test`, title: `T${i}` }));
    const db = t.container.db;
    const set = (i: number, data: string, active?: boolean) => db('scim_users').where({ id: ids[i] }).update(active === undefined ? { data } : { data, active });
    await set(0, '{"userName":"u0@acme.test"}', false); // no `active`: the column's value is appended
    await set(1, '{"userName":"u1@acme.test","active":true}', false); // stored `active` differs from the column
    await set(2, '{"userName": "u2@acme.test", "active": true}'); // whitespace
    await set(3, '{"userName":"u3@acme.test","schemas":["forged"],"meta":{"version":"x"},"active":true}'); // keys the view writes
    await set(4, `{"userName":"u4@acme.test","${ENTERPRISE}":null,"active":true}`); // extension that is no object
    await set(5, '{}', true); // nothing stored
    await set(6, '{"userName":"u6@acme.test","nickName":"active","active":true}'); // "active" as a value too
    await set(7, `{"userName":"u7@acme.test","${ENTERPRISE}":{"department":"D"},"active":true}`);
    const listed = await listedIds();
    const texts = await singles(listed);
    expect(JSON.parse(texts[listed.indexOf(ids[0]!)]!).active).toBe(false);
    expect(JSON.parse(texts[listed.indexOf(ids[1]!)]!).active).toBe(false);
    expect(JSON.parse(texts[listed.indexOf(ids[7]!)]!).schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
    expect((await s.req('GET', '/Users')).text).toBe(listText(8, 1, texts));
  });
});
