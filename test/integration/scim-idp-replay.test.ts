import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, loadFixtures, substitute, type ScimClient } from '../helpers/scim-builders.js';
import type { ScimLifecycleListener } from '../../src/modules/scim/lifecycle.js';

let t: TestApp;
let s: ScimClient;
let calls: Array<{ hook: string; action: string; members?: number }>;

beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t, { domains: ['example.com', 'contoso.com'] });
  calls = [];
  // Record every hook, then hand over to the real listener (flags), so the sequences run through it too.
  const base = t.container.scimLifecycle;
  const hooks = ['userProvisioned', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupMembersAdded', 'groupMembersRemoved', 'groupDeleted'] as const;
  t.container.scimLifecycle = Object.fromEntries(
    hooks.map((hook) => [
      hook,
      async (trx: never, change: { action: string; members?: unknown[] }) => {
        calls.push({ hook, action: change.action, members: change.members?.length });
        await (base[hook] as (a: never, b: never) => Promise<void>).call(base, trx, change as never);
      },
    ]),
  ) as unknown as ScimLifecycleListener;
});
afterEach(async () => {
  await t.close();
});

async function replay(idp: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const step of loadFixtures(idp)) {
    const req = substitute(step.request, vars);
    const recorded = calls.length;
    const res = await s.req(req.method, req.path, { body: req.body });
    // A refused request's transaction rolled back, and with it whatever its hooks did (a write may
    // run its hooks more than once before it is refused: see inTransaction and guessNewAccount).
    if (res.status >= 400) calls.length = recorded;
    expect({ step: step.file, status: res.status, body: res.body }).toMatchObject({ step: step.file, status: step.response.status });
    if (res.body !== undefined) expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    if (step.response.body !== undefined) expect(res.body, step.file).toMatchObject(substitute(step.response.body, vars) as object);
    for (const path of step.response.absent ?? []) {
      const found = path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), res.body);
      expect(found, `${step.file}: ${path.join('.')}`).toBeUndefined();
    }
    for (const [name, key] of Object.entries(step.capture ?? {})) vars[name] = String((res.body as Record<string, unknown>)[key]);
  }
  return vars;
}

describe('recorded identity-provider sequences', () => {
  it('replays the Okta sequence: connection test, lookup, create, conflict, PUT, deactivate, group push', async () => {
    const vars = await replay('okta');
    expect(calls).toEqual([
      { hook: 'userProvisioned', action: 'POST /Users', members: undefined },
      { hook: 'userDeactivated', action: 'PATCH active=false', members: undefined },
      { hook: 'userReactivated', action: 'PATCH active=true', members: undefined },
      { hook: 'groupMembersAdded', action: 'PATCH members add', members: 1 },
      { hook: 'groupMembersRemoved', action: 'PATCH members remove', members: 1 },
      { hook: 'groupDeleted', action: 'DELETE /Groups', members: 0 },
    ]);
    // The global user follows the SCIM user (SPEC §2): linked, renamed by the PUT.
    const row = await t.container.db('scim_users').where({ id: vars.userId }).first();
    const user = await t.container.db('users').where({ id: row.user_id }).first();
    expect(user).toMatchObject({ email_lower: 'okta.test.user@example.com', name: 'Okta Renamed', family_name: 'Renamed' });
    const actions = (await t.container.db('audit_events').where({ actor_type: 'scim' }).orderBy('seq').select('action')).map((r) => r.action);
    expect(actions).toEqual(['user.provisioned', 'user.updated', 'user.deactivated', 'user.reactivated']);
    const events = (await t.container.events.list({ take: 100 })).map((e) => e.type);
    expect(events).toEqual(actions);
  });

  it('replays the Entra ID sequence: string booleans, capitalised ops, typed paths, manager shapes, member removal by value', async () => {
    const vars = await replay('entra');
    expect(calls.map((c) => c.hook)).toEqual([
      'userProvisioned',
      'userProvisioned',
      'userDeactivated',
      'userReactivated',
      'groupMembersAdded', // the repeated add is not reported again
      'groupMembersRemoved',
      'userDeleted',
      'groupDeleted',
    ]);
    // DELETE keeps the account and leaves a tombstone.
    const tomb = await t.container.db('scim_user_tombstones').where({ scim_user_id: vars.userId }).first();
    expect(tomb).toBeTruthy();
    expect(await t.container.db('users').where({ id: tomb.user_id }).first()).toBeTruthy();
    const dir = await t.api('GET', `/api/v1/directories/${s.directoryId}`);
    expect(dir.body).toMatchObject({ users: 1, groups: 0 });
    expect(dir.body.last_activity_at).toEqual(expect.any(String));
  });

  it('replays the JumpCloud sequence: "id": null on create and PUT, repeated member adds, delete leaves the group', async () => {
    const vars = await replay('jumpcloud');
    expect(calls.map((c) => c.hook)).toEqual(['userProvisioned', 'groupMembersAdded', 'userDeactivated', 'userDeleted']);
    expect(await t.container.db('scim_group_members').where({ group_id: vars.groupId })).toEqual([]);
  });

  it('replays the OneLogin sequence: "id": null, a group created with its member, a re-applied add, members replaced by none', async () => {
    const vars = await replay('onelogin');
    expect(calls).toEqual([
      { hook: 'userProvisioned', action: 'POST /Users', members: undefined },
      { hook: 'groupMembersAdded', action: 'POST /Groups', members: 1 },
      { hook: 'groupMembersRemoved', action: 'PATCH members remove', members: 1 }, // the replace removed one member
      { hook: 'userDeactivated', action: 'PATCH active=false', members: undefined },
      { hook: 'groupDeleted', action: 'DELETE /Groups', members: 0 },
    ]);
    expect(await t.container.db('scim_groups').where({ id: vars.groupId }).first()).toBeUndefined();
  });
});
