/**
 * Soak: mixed SCIM writes and reads and SAML sign-ins at a fixed rate against a real server process
 * (SQLite file, loopback), for SOAK_SECONDS (default 60, at most 600). Reports p50/p99 per kind of
 * request, errors, and the server's RSS sampled through the run: memory must stay flat.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, measureBaseline } from './lib/harness.js';
import { freePort, startMain, stopProcess, tempDir } from '../test/helpers/process.js';
import { crossInstanceLogin, scimOn } from '../test/helpers/multi-instance.js';
import { SamlTestIdp } from '../test/helpers/saml-idp.js';

const KEY = 'soak-bench-key-0123456789abcdefghij';
const seconds = Math.min(600, Math.max(10, Number(process.env.SOAK_SECONDS ?? 60)));
const rate = Math.min(500, Math.max(5, Number(process.env.SOAK_RATE ?? 20)));

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
};

export async function run(): Promise<void> {
  const baseline = await measureBaseline({ durationMs: 2000, concurrency: 4 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Every sign-in of the soak comes from this one address: the per-client anonymous limit is off.
  const server = await startMain({ PORT: String(port), PUBLIC_URL: url, DATABASE_URL: `sqlite:${join(tempDir('orgsync-soak-'), 'soak.sqlite')}`, ORGSYNC_BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' });
  const idp = new SamlTestIdp();
  await idp.start();
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await r.json()) as Record<string, string>;
    };
    for (const name of ['acme', 'acme-eng']) await api('POST', '/api/v1/organizations', { name });
    const conn = await api('POST', '/api/v1/connections', {
      name: 'soak', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: idp.metadataXml() }, membership_sync: 'scim_and_login',
      membership_rules: [{ organization: 'acme', role: 'member' }, { organization: 'acme-eng', role: 'member', groups: ['Engineering'] }],
    });
    idp.spMetadata = await (await fetch(`${url}/sso/saml/${conn.id}/metadata`)).text();
    const dir = await api('POST', '/api/v1/directories', { connection_id: conn.id!, name: 'soak' });
    const scim = scimOn(url, dir.id!, dir.token!);
    const group = (await scim('POST', '/Groups', { displayName: 'Engineering' })).body.id as string;

    const users: string[] = [];
    let created = 0;
    const patchOp = (ops: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops });
    const pick = () => users[Math.floor(Math.random() * users.length)]!;
    // One "tick" of the mix: what an IdP and its users do, in proportions seen from real IdPs.
    const kinds: Record<string, () => Promise<number>> = {
      'SCIM create': async () => {
        const n = created++;
        const r = await scim('POST', '/Users', { userName: `soak${n}@acme.com`, name: { givenName: 'Soak', familyName: String(n) }, emails: [{ value: `soak${n}@acme.com`, primary: true }], active: true });
        if (r.status === 201) users.push(r.body.id);
        return r.status === 201 ? 0 : 1;
      },
      'SCIM filter': async () => ((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "soak${Math.floor(Math.random() * created)}@acme.com"`)}`)).status === 200 ? 0 : 1),
      'SCIM PATCH user': async () => ((await scim('PATCH', `/Users/${pick()}`, patchOp([{ op: 'replace', path: 'title', value: `t${Date.now()}` }]))).status === 200 ? 0 : 1),
      'SCIM group add': async () => ((await scim('PATCH', `/Groups/${group}`, patchOp([{ op: 'add', path: 'members', value: [{ value: pick() }] }]))).status === 204 ? 0 : 1),
      'SCIM group remove': async () => ((await scim('PATCH', `/Groups/${group}`, patchOp([{ op: 'remove', path: `members[value eq "${pick()}"]` }]))).status === 204 ? 0 : 1),
      'SAML login sync': async () => {
        const n = Math.floor(Math.random() * created);
        const r = await crossInstanceLogin(url, url, conn.id!, idp, { nameId: `soak${n}@acme.com`, email: `soak${n}@acme.com`, groups: n % 2 ? ['Engineering'] : [] });
        return r.status === 303 ? 0 : 1;
      },
    };
    const mix = ['SCIM create', 'SCIM filter', 'SCIM filter', 'SCIM PATCH user', 'SCIM group add', 'SCIM group remove', 'SCIM filter', 'SAML login sync'];
    for (let i = 0; i < 20; i++) await kinds['SCIM create']!();

    const lat = new Map<string, number[]>(Object.keys(kinds).map((k) => [k, []]));
    const errors = new Map<string, number>(Object.keys(kinds).map((k) => [k, 0]));
    const rss: Array<[number, number]> = [];
    const started = Date.now();
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let late = 0;
    // Open loop: requests leave on schedule whether or not earlier ones have answered.
    while (Date.now() - started < seconds * 1000) {
      const due = started + (sent * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) late++;
      const kind = mix[sent % mix.length]!;
      sent++;
      const t0 = performance.now();
      const p = kinds[kind]!()
        .catch(() => 1)
        .then((err) => {
          lat.get(kind)!.push(performance.now() - t0);
          errors.set(kind, errors.get(kind)! + err);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (sent % rate === 0 && (sent / rate) % 5 === 0) rss.push([Math.round((Date.now() - started) / 1000), rssOf(server.child.pid!)]);
    }
    await Promise.all(inFlight);
    rss.push([Math.round((Date.now() - started) / 1000), rssOf(server.child.pid!)]);

    const all = [...lat.values()].flat();
    console.log(`${seconds} s at ${rate} req/s (${sent} operations, ${created} users at the end; a sign-in is 3 HTTP requests); bare express route p50 ${fmt(baseline.p50ms)} ms, p99 ${fmt(baseline.p99ms)} ms at ${fmt(baseline.rps, 0)} req/s`);
    console.log('| kind | count | p50 ms | p99 ms | errors |');
    console.log('|---|---|---|---|---|');
    for (const [k, xs] of lat) console.log(`| ${k} | ${xs.length} | ${fmt(pct(xs, 0.5))} | ${fmt(pct(xs, 0.99))} | ${errors.get(k)} |`);
    console.log(`| all | ${all.length} | ${fmt(pct(all, 0.5))} | ${fmt(pct(all, 0.99))} | ${[...errors.values()].reduce((a, b) => a + b, 0)} |`);
    if (late) console.log(`(${late} operations left more than 1 s behind schedule: the machine could not keep the rate)`);
    const warm = rss.find(([s]) => s >= Math.min(10, seconds / 5)) ?? rss[0]!;
    const end = rss[rss.length - 1]!;
    console.log(`server RSS MiB (t=s:MiB): ${rss.map(([s, m]) => `${s}:${fmt(m, 0)}`).join(' ')}`);
    console.log(`RSS after warm-up ${fmt(warm[1], 1)} MiB → end ${fmt(end[1], 1)} MiB (${fmt(((end[1] - warm[1]) / warm[1]) * 100, 1)}%)`);
  } finally {
    await idp.stop();
    await stopProcess(server.child);
  }
}
