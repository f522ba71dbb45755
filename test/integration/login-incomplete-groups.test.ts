import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';
import { scimClient } from '../helpers/scim-client.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { createLoginService } from '../../src/modules/sso/complete-login.js';
import { toLoginProfile } from '../../src/modules/sso/login-profile.js';
import { isAppError } from '../../src/platform/errors.js';

/**
 * An incomplete group list (Entra group overage, no groups attribute) must never flag or remove:
 * recorded IdP shapes under fixtures/saml/responses and fixtures/oidc, signed in over real HTTP.
 */
const SAML = {
  listed: 'responses/response.template.xml',
  entraOverage: 'responses/entra.groups-overage.template.xml',
  missing: 'responses/groups-attribute-missing.template.xml',
  empty: 'responses/groups-attribute-empty.template.xml',
};
const oidcFixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/oidc/${name}.json`, import.meta.url), 'utf8'));

let t: TestApp;
let orgs: Record<string, string>;
beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'acme-eng', 'acme-ops');
});
afterEach(async () => {
  await t.close();
});

type Incomplete = { reason: string; fallback: string; held: Array<{ organization_id: string; withheld: string }> };
type Me = { user: { id: string }; organizations: { name: string; role: string }[]; flagged: { name: string; reason: string }[]; last_sync_run: Record<string, unknown> & { id: string; incomplete: Incomplete | null } };
const roles = (me: Me) => me.organizations.map((o) => `${o.name}:${o.role}`);
const byOrg = (a: { organization_id: string }, b: { organization_id: string }) => a.organization_id.localeCompare(b.organization_id);
const held = (...entries: Array<[string, 'flag' | 'role_change']>) => entries.map(([org, withheld]) => ({ organization_id: orgs[org]!, withheld })).sort(byOrg);
const heldOf = (run: { incomplete: Incomplete | null }) => [...(run.incomplete?.held ?? [])].sort(byOrg);

describe('SAML', () => {
  let conn: { idp: SamlTestIdp; id: string };
  beforeEach(async () => {
    conn = await samlConnection(t, {
      membership_rules: [
        { organization: 'acme', role: 'member' },
        { organization: 'acme-eng', role: 'member', groups: ['Engineering'] },
        { organization: 'acme-eng', role: 'owner', groups: ['eng-leads'] },
        { organization: 'acme-ops', role: 'admin', groups: ['Ops'] },
      ],
    });
  });
  afterEach(async () => {
    await conn.idp.stop();
  });
  const login = async (template: string, groups: string[] = []): Promise<Me> => {
    conn.idp.responseTemplate = template;
    const { me } = await samlLogin(t, conn, { nameId: 'bob@acme.com', email: 'bob@acme.com', groups });
    expect(me, template).toBeTruthy();
    return me as Me;
  };

  it('Entra group overage without a directory: nothing flagged, memberships kept, the run marked incomplete everywhere it is shown', async () => {
    const first = await login(SAML.listed, ['Engineering', 'Ops']);
    expect(roles(first)).toEqual(['acme:member', 'acme-eng:member', 'acme-ops:admin']);

    const over = await login(SAML.entraOverage);
    expect(roles(over)).toEqual(['acme:member', 'acme-eng:member', 'acme-ops:admin']);
    expect(over.flagged).toEqual([]);
    const run = over.last_sync_run;
    expect(run.flagged).toEqual([]);
    expect({ ...run.incomplete, held: heldOf(run) }).toEqual({ reason: 'groups_overage', fallback: 'kept_memberships', held: held(['acme-eng', 'flag'], ['acme-ops', 'flag']) });
    const statuses = await t.container.db('memberships').where({ user_id: over.user.id }).pluck('status');
    expect(statuses).toEqual(['active', 'active', 'active']);

    // The run's JSON, the sync runs list (by user and by organization), the organization's report.
    const mine = await t.api('GET', `/api/v1/sync-runs?user=${over.user.id}`);
    expect(mine.body.sync_runs[0]).toMatchObject({ id: run.id, incomplete: { reason: 'groups_overage', fallback: 'kept_memberships' } });
    expect((await t.api('GET', '/api/v1/sync-runs?organization=acme-ops')).body.sync_runs[0].id).toBe(run.id);
    const report = await t.api('GET', '/api/v1/organizations/acme-eng/sync-report');
    expect(report.body.summary).toMatchObject({ active: 1, flagged: 0 });
    expect(report.body.recent_runs[0]).toMatchObject({ id: run.id, incomplete: { reason: 'groups_overage' } });
    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    const page = await admin.get('/admin/organizations/acme-eng/report');
    expect(page.text).toMatch(/data-incomplete="groups_overage"[^>]*>groups incomplete: the IdP sent a link instead of the groups \(Entra group overage\); kept memberships as they were; held back here: a flag</);

    // The incomplete list is not remembered as the user's groups; the audit says what happened.
    expect((await t.container.db('identities').where({ connection_id: conn.id }).first()).last_groups).toBeNull();
    const audit = await t.container.db('audit_events').where({ action: 'login.succeeded', target_user_id: over.user.id }).orderBy('seq', 'desc').first();
    expect(JSON.parse(audit.detail)).toMatchObject({ groups_incomplete: 'groups_overage', held: 2, flagged: 0 });
  });

  it('Entra group overage with a directory: the SCIM groups grant and raise, nothing is flagged or lowered', async () => {
    const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'acme-entra' } })).body;
    const scim = scimClient(dir);
    const bob = (await scim('POST', '/Users', { userName: 'bob@acme.com', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', emails: [{ value: 'bob@acme.com', primary: true }] })).body;
    await scim('POST', '/Groups', { displayName: 'Engineering', members: [{ value: bob.id }] });
    const leads = (await scim('POST', '/Groups', { displayName: 'eng-leads' })).body;

    const first = await login(SAML.listed, ['Ops']);
    expect(roles(first)).toEqual(['acme:member', 'acme-eng:member', 'acme-ops:admin']);
    expect((await scim('PATCH', `/Groups/${leads.id}`, { Operations: [{ op: 'add', path: 'members', value: [{ value: bob.id }] }] })).status).toBe(204);

    // Ops came only from the login's list: held. eng-leads (SCIM) raises acme-eng to owner.
    const over = await login(SAML.entraOverage);
    expect(roles(over)).toEqual(['acme:member', 'acme-eng:owner', 'acme-ops:admin']);
    expect(over.flagged).toEqual([]);
    expect(over.last_sync_run).toMatchObject({ updated: [{ organization_id: orgs['acme-eng'], from_role: 'member', to_role: 'owner' }], flagged: [] });
    expect(over.last_sync_run.incomplete).toEqual({ reason: 'groups_overage', fallback: 'directory_groups', held: held(['acme-ops', 'flag']) });

    // Leaving eng-leads in SCIM keeps Engineering's grant; the next overage login holds the lower role.
    await scim('PATCH', `/Groups/${leads.id}`, { Operations: [{ op: 'remove', path: `members[value eq "${bob.id}"]` }] });
    const again = await login(SAML.entraOverage);
    expect(roles(again)).toEqual(['acme:member', 'acme-eng:owner', 'acme-ops:admin']);
    expect(again.last_sync_run).toMatchObject({ updated: [], flagged: [] });
    expect(heldOf(again.last_sync_run)).toEqual(held(['acme-eng', 'role_change'], ['acme-ops', 'flag']));

    // A complete list applies everything again.
    const listed = await login(SAML.listed, []);
    expect(roles(listed)).toEqual(['acme:member', 'acme-eng:member']);
    expect(listed.flagged).toEqual([expect.objectContaining({ name: 'acme-ops', reason: 'login_lost_grant' })]);
    expect(listed.last_sync_run.incomplete).toBeNull();
  });

  it('a missing groups attribute flags nothing, an explicit empty list may; without group rules the run is complete', async () => {
    await login(SAML.listed, ['Engineering']);
    const missing = await login(SAML.missing);
    expect(missing.flagged).toEqual([]);
    expect(roles(missing)).toEqual(['acme:member', 'acme-eng:member']);
    expect(missing.last_sync_run.incomplete).toEqual({ reason: 'groups_missing', fallback: 'kept_memberships', held: held(['acme-eng', 'flag']) });

    const empty = await login(SAML.empty);
    expect(empty.flagged).toEqual([expect.objectContaining({ name: 'acme-eng', reason: 'login_lost_grant' })]);
    expect(empty.last_sync_run.incomplete).toBeNull();

    // No rule names a group: the group list decides nothing, so its absence makes nothing incomplete.
    expect((await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { membership_rules: [{ organization: 'acme', role: 'member' }] } })).status).toBe(200);
    const plain = await login(SAML.missing);
    expect(plain.last_sync_run.incomplete).toBeNull();
  });
});

describe('OIDC', () => {
  let op: OidcTestOp;
  let connId: string;
  beforeEach(async () => {
    op = new OidcTestOp();
    await op.start();
    const res = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'acme-entra-oidc',
        type: 'oidc',
        domains: ['acme.com'],
        idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', scopes: ['openid', 'email', 'profile', 'groups'] },
        membership_rules: [
          { organization: 'acme', role: 'member' },
          { organization: 'acme-ops', role: 'admin', groups: ['it-admins'] },
        ],
      },
    });
    expect(res.status).toBe(201);
    connId = res.body.id;
    op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
    op.accounts.set('u-1', { sub: 'u-1', email: 'hank@acme.com', email_verified: true, name: 'Hank', groups: ['it-admins'] });
  });
  afterEach(async () => {
    await op.stop();
  });

  /** Signs in with the ID token shaped as a recorded fixture says (set and remove claims). */
  const login = async (fixture: string | null): Promise<Me> => {
    const shape = fixture ? (oidcFixture(fixture).id_token as { set: Record<string, unknown>; remove: string[] }) : null;
    op.tamperIdToken = shape
      ? (claims) => {
          const out = { ...claims, ...shape.set };
          for (const k of shape.remove) delete out[k];
          return out;
        }
      : undefined;
    // orgsync reads userinfo when the ID token lacks groups; Entra's userinfo carries none either,
    // so the recorded shape stays the whole truth.
    const { groups: _groups, ...account } = op.accounts.get('u-1')!;
    op.accounts.set('u-1', shape ? account : { ...account, groups: ['it-admins'] });
    const browser = new Browser();
    await signInAtOp(browser, `${t.url}/sso/oidc/${connId}/login`, 'u-1');
    return JSON.parse((await browser.request('GET', `${t.url}/api/v1/me`)).text) as Me;
  };

  it('Entra overage (_claim_names, hasgroups) and a missing groups claim flag nothing; an empty groups claim may', async () => {
    expect(roles(await login(null))).toEqual(['acme:member', 'acme-ops:admin']);
    for (const [fixture, reason] of [
      ['entra.groups-overage.id-token', 'groups_overage'],
      ['entra.hasgroups.id-token', 'groups_overage'],
      ['groups-claim-missing.id-token', 'groups_missing'],
    ] as const) {
      const me = await login(fixture);
      expect(me.flagged, fixture).toEqual([]);
      expect(roles(me), fixture).toEqual(['acme:member', 'acme-ops:admin']);
      expect(me.last_sync_run.incomplete, fixture).toEqual({ reason, fallback: 'kept_memberships', held: held(['acme-ops', 'flag']) });
    }
    const empty = await login('groups-claim-empty.id-token');
    expect(empty.flagged).toEqual([expect.objectContaining({ name: 'acme-ops', reason: 'login_lost_grant' })]);
    expect(empty.last_sync_run.incomplete).toBeNull();
  });
});

describe('Google Workspace (issuer https://accounts.google.com)', () => {
  it('accepts an account only when its hd claim is one of the connection domains', async () => {
    const res = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'acme-google',
        type: 'oidc',
        domains: ['acme.com'],
        idp: { issuer: 'https://accounts.google.com', client_id: '1234987819200.apps.googleusercontent.com', client_secret: 'google-client-secret-0123' },
        membership_rules: [{ organization: 'acme', role: 'member' }],
      },
    });
    expect(res.status, res.text).toBe(201);
    const connection = (await t.container.connections.load(t.container.db, res.body.id))!;
    const login = createLoginService(t.container);
    // The claims openid-client hands over after validating Google's ID token (no network here).
    const signIn = (fixture: string) => {
      const claims = oidcFixture(fixture).claims as Record<string, unknown>;
      return login.login(connection, toLoginProfile('oidc', String(claims.sub), claims, connection.attribute_mapping, claims.email_verified === true));
    };

    const ok = await signIn('google.workspace.id-token');
    expect(ok.run.added).toEqual([{ organization_id: orgs.acme, role: 'member' }]);
    for (const fixture of ['google.consumer-account.id-token', 'google.other-workspace.id-token']) {
      const refused = await signIn(fixture).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isAppError(refused) && refused.code, fixture).toBe('email_domain_not_verified');
    }
    const denied = await t.container.db('audit_events').where({ action: 'login.denied' }).select('detail');
    expect(denied.map((d) => JSON.parse(d.detail).reason)).toEqual(['email_domain_not_verified', 'email_domain_not_verified']);
    // Neither refused account got a user or an identity.
    expect(await t.container.db('identities').where({ connection_id: connection.id }).pluck('subject')).toEqual(['110169484474386276334']);
  });
});
