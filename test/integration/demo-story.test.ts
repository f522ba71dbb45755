import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startDemo, demoInstructions, type RunningDemo } from '../../src/demo/start-demo.js';
import { AdminClient } from '../helpers/admin-client.js';
import { Browser, type Hop } from '../helpers/sso-browser.js';
import { tempDir } from '../helpers/process.js';

/**
 * The demo's scripted story, end to end over real HTTP: the real server on a fresh SQLite file, the
 * demo IdP signing in over SAML and OpenID Connect and pressing its SCIM buttons, the flag seen and
 * removed through the management API.
 */
let demo: RunningDemo;
const api = async (method: string, path: string) => {
  const res = await fetch(`${demo.publicUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${demo.apiKey}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};
const fields = (html: string, formContaining: string): Record<string, string> => {
  const form = [...html.matchAll(/<form[\s\S]*?<\/form>/g)].map((m) => m[0]).find((f) => f.includes(formContaining));
  if (!form) throw new Error(`no form with ${formContaining}`);
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return Object.fromEntries([...form.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, unescape(m[2]!)]));
};
const post = (b: Browser, url: string, body: Record<string, string>): Promise<Hop> =>
  b.follow('POST', url, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

/** Presses a button on the demo IdP console, as a person would. */
async function press(b: Browser, label: string, person: string, group?: string): Promise<Hop> {
  const console = await b.request('GET', `${demo.idp.url}/`);
  const form = [...console.text.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)].find(
    (m) => m[2]!.includes(`value="${person}"`) && m[2]!.includes(`>${label}<`) && (!group || m[2]!.includes(`value="${group}"`)),
  );
  if (!form) throw new Error(`no ${label} button for ${person}`);
  const res = await post(b, `${demo.idp.url}${form[1]}`, fields(form[0], `>${label}<`));
  expect(res.status).toBe(200);
  return res;
}

beforeAll(async () => {
  demo = await startDemo({ port: 0, idpPort: 0, dataDir: tempDir('orgsync-demo-'), base: loadConfig({ LOG_LEVEL: 'silent' }) });
}, 60_000);
afterAll(async () => demo?.stop());

describe('the demo story', () => {
  it('prints where to click, with the key and both sign-in URLs', () => {
    const text = demoInstructions(demo);
    expect(text).toContain('FOR DEMONSTRATION ONLY');
    expect(text).toContain(demo.apiKey);
    expect(text).toContain(demo.seeded.saml.login_url);
    expect(text).toContain(demo.seeded.oidc.login_url);
    expect(demo.databaseFile).toMatch(/demo-.*\.sqlite$/);
  });

  it('seeded three organizations, two connections with rules and a directory the IdP provisioned over SCIM', async () => {
    const orgs = (await api('GET', '/organizations')).body.organizations as Array<{ name: string; sso: { enabled: boolean } }>;
    expect(orgs.map((o) => o.name).sort()).toEqual(['acme-engineering', 'acme-sales', 'globex']);
    expect(orgs.every((o) => o.sso.enabled)).toBe(true);
    const dir = (await api('GET', `/directories/${demo.seeded.directory.id}`)).body;
    expect(dir).toMatchObject({ users: 3, groups: 3 });
    const carol = await fetch(`${demo.seeded.directory.scim_base_url}/Users?filter=${encodeURIComponent('userName eq "carol@acme.example"')}`, {
      headers: { authorization: `Bearer ${demo.seeded.directory.token}` },
    });
    expect((await carol.json()).totalResults).toBe(1);
  });

  it('sign in over SAML → /account synced → remove from group and deactivate at the IdP → flags on /admin → admin removes them', async () => {
    const b = new Browser();
    const chooser = await b.follow('GET', `${demo.seeded.saml.login_url}?return_to=%2Faccount`);
    expect(chooser.url.startsWith(demo.idp.url)).toBe(true);
    expect(chooser.text).toContain('for demonstration only');
    const account = await post(b, `${demo.idp.url}/saml/continue`, fields(chooser.text, 'Continue as Alice'));
    expect(account.url).toBe(`${demo.publicUrl}/account`);
    expect(account.text).toContain('Acme Engineering');
    expect(account.text).toContain('Acme Sales');
    let me = JSON.parse((await b.request('GET', `${demo.publicUrl}/api/v1/me`)).text);
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`).sort()).toEqual(['acme-engineering:admin', 'acme-sales:member']);

    const idpBrowser = new Browser();
    const removed = await press(idpBrowser, 'Remove from group', 'alice', 'Sales');
    expect(removed.text).toContain('Removed Alice Anders from Sales');
    expect(removed.text).toMatch(/PATCH \/Groups\/[^<]+<\/code>[\s\S]*?<td>(200|204)<\/td>/);
    me = JSON.parse((await b.request('GET', `${demo.publicUrl}/api/v1/me`)).text);
    expect(me.organizations.map((o: { name: string }) => o.name)).toEqual(['acme-engineering']);
    expect(me.flagged).toMatchObject([{ name: 'acme-sales', reason: 'idp_group_removed' }]);

    // Adding her back answers the flag at once, and the IdP's page says so; a new grant waits.
    const readded = await press(idpBrowser, 'Add to Sales', 'alice', 'Sales');
    expect(readded.text).toContain('Added Alice Anders to Sales: sent a SCIM group PATCH. orgsync restored their access to Acme Sales at once.');
    me = JSON.parse((await b.request('GET', `${demo.publicUrl}/api/v1/me`)).text);
    expect(me.organizations.map((o: { name: string }) => o.name)).toEqual(['acme-engineering', 'acme-sales']);
    const bob = await press(idpBrowser, 'Add to Sales', 'bob', 'Sales');
    expect(bob.text).toContain('Added Bob Berg to Sales: sent a SCIM group PATCH. orgsync applies it at their next sign-in.');

    await press(idpBrowser, 'Deactivate', 'alice');
    // Deactivation ends the session at once.
    expect((await b.request('GET', `${demo.publicUrl}/api/v1/me`)).status).toBe(401);
    const flagged = (await api('GET', '/organizations/acme-engineering/members?status=flagged')).body.members;
    expect(flagged).toMatchObject([{ email: 'alice@acme.example', status: 'flagged', flagged_reason: 'idp_deactivated' }]);
    const report = (await api('GET', '/organizations/acme-sales/sync-report')).body;
    expect(report.summary.flagged).toBe(1);

    // A deactivated person cannot sign in at the IdP any more.
    const again = await new Browser().follow('GET', demo.seeded.saml.login_url);
    expect(again.text).toContain('is deactivated at the IdP');
    expect(again.text).not.toContain('Continue as Alice');

    // The admin page, signed in with the printed key: the Flagged tab, then "Remove all flagged".
    const admin = new AdminClient(demo.publicUrl);
    expect((await admin.signIn(demo.apiKey)).status).toBe(303);
    const tab = await admin.get(`/admin/organizations/${demo.seeded.organizations['acme-engineering']}?tab=flagged`);
    expect(tab.status).toBe(200);
    expect(tab.text).toContain('alice@acme.example');
    await admin.get(`/admin/organizations/${demo.seeded.organizations['acme-engineering']}/remove-flagged`);
    expect((await admin.post(`/admin/organizations/${demo.seeded.organizations['acme-engineering']}/remove-flagged`)).status).toBe(303);
    // And through the API for the other organization.
    expect((await api('DELETE', '/organizations/acme-sales/members?status=flagged')).status).toBe(204);
    for (const org of ['acme-engineering', 'acme-sales']) expect((await api('GET', `/organizations/${org}/members?status=all`)).body.members).toEqual([]);
    const removals = (await api('GET', '/audit-logs?action=membership.removed')).body.audit_logs as Array<{ actor: { type: string } }>;
    expect(removals.map((e) => e.actor.type).sort()).toEqual(['admin_page', 'api_key']);
    // The account is kept.
    expect((await api('GET', '/users?email=alice%40acme.example')).body.users).toHaveLength(1);
  });

  it('signs in over OpenID Connect at the demo OpenID Provider as dave', async () => {
    const b = new Browser();
    let hop = await b.request('GET', `${demo.seeded.oidc.login_url}?return_to=%2Faccount`);
    for (let i = 0; i < 20 && !hop.url.startsWith(`${demo.publicUrl}/account`); i++) {
      const location = hop.headers.get('location');
      if (hop.status >= 300 && hop.status < 400 && location) {
        hop = await b.request('GET', new URL(location, hop.url).href);
        continue;
      }
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(hop.text);
      if (!form) throw new Error(`stuck at ${hop.url}: ${hop.status} ${hop.text.slice(0, 300)}`);
      const body: Record<string, string> = {};
      for (const m of hop.text.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) body[m[1]!] = m[2]!;
      if (/name="login"/.test(hop.text)) Object.assign(body, { login: 'dave', password: 'anything' });
      hop = await b.request('POST', new URL(form[1]!, hop.url).href, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    }
    expect(hop.status).toBe(200);
    const me = JSON.parse((await b.request('GET', `${demo.publicUrl}/api/v1/me`)).text);
    expect(me.user.email).toBe('dave@globex.example');
    expect(me.organizations).toMatchObject([{ name: 'globex', role: 'owner' }]);
  });
});
