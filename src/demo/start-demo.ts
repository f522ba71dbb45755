import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { createLogger } from '../platform/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { ACME_GROUPS, ACME_PEOPLE, GLOBEX_ACCOUNTS } from './cast.js';
import { DemoDirectory } from './directory.js';
import { DemoIdpServer } from './idp-server.js';
import { demoSecret, generateSigningKey } from './keys.js';
import { createDemoOp } from './oidc-op.js';
import { loadDemoPeers } from './peers.js';
import { SamlIdpCore } from './saml-idp.js';
import { DEMO_RESPONSE_TEMPLATE } from './saml-response.js';
import { ApiClient, seedDemo, type Seeded } from './seed.js';

/**
 * FOR DEMONSTRATION ONLY. `orgsync demo` / `npm run demo`: the real orgsync server on a fresh SQLite
 * file plus the demo IdP (SAML IdP, OpenID Provider, SCIM client) in this process, on loopback,
 * seeded through the public APIs. Nothing here is imported by `npm start`.
 */
export interface DemoOptions {
  /** orgsync's port (0 = any free one). */
  port: number;
  /** The demo IdP's port (0 = any free one). */
  idpPort: number;
  /** Folder for the fresh SQLite file. */
  dataDir: string;
  /** The rest of the configuration (log level, limits); database, host, URL and key are the demo's. */
  base: Config;
}

export interface RunningDemo {
  orgsync: RunningServer;
  idp: DemoIdpServer;
  directory: DemoDirectory;
  publicUrl: string;
  apiKey: string;
  databaseFile: string;
  seeded: Seeded;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const peers = await loadDemoPeers();
  const signing = generateSigningKey();
  const directory = new DemoDirectory(ACME_PEOPLE, ACME_GROUPS);
  // The IdP's URLs (its entity id) are known once it listens.
  const holder: { saml?: SamlIdpCore } = {};
  const idp = new DemoIdpServer(() => holder.saml!, directory);
  const idpUrl = await idp.listen(opts.idpPort);
  const saml = (holder.saml = new SamlIdpCore(peers.samlify, { entityId: `${idpUrl}/saml/metadata`, ssoUrl: `${idpUrl}/saml/sso`, sloUrl: `${idpUrl}/saml/logout`, key: signing.key, cert: signing.cert, template: DEMO_RESPONSE_TEMPLATE }));

  mkdirSync(opts.dataDir, { recursive: true });
  const databaseFile = resolve(join(opts.dataDir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.sqlite`));
  const port = opts.port === 0 ? await freePort() : opts.port;
  const apiKey = `osk_demo_${demoSecret(24)}`;
  // localhost for orgsync and 127.0.0.1 for the IdP: two hosts, so browsers keep their cookies apart.
  const publicUrl = `http://localhost:${port}`;
  const config: Config = { ...opts.base, port, host: '127.0.0.1', publicUrl, databaseUrl: `sqlite:${databaseFile}`, bootstrapApiKey: apiKey };
  let orgsync: RunningServer;
  try {
    orgsync = await startServer(config, createLogger(config.logLevel));
  } catch (err) {
    await idp.close();
    throw err;
  }
  const stop = async () => {
    await idp.close();
    await orgsync.stop();
  };
  try {
    const oidcClient = { client_id: 'orgsync-demo', client_secret: demoSecret() };
    const api = new ApiClient(publicUrl, apiKey);
    idp.orgsync = api;
    const seeded = await seedDemo(api, {
      samlMetadataXml: saml.metadataXml(),
      oidcIssuer: idpUrl,
      oidcClientId: oidcClient.client_id,
      oidcClientSecret: oidcClient.client_secret,
    });
    idp.op = createDemoOp(peers.Provider, idpUrl, { ...oidcClient, redirect_uris: [seeded.oidc.redirect_uri] }, () => GLOBEX_ACCOUNTS);
    idp.spMetadata = await (await fetch(seeded.saml.metadata_url)).text();
    directory.connect(seeded.directory.scim_base_url, seeded.directory.token);
    await directory.provisionAll();
    idp.links = {
      orgsyncUrl: publicUrl,
      samlLoginUrl: `${seeded.saml.login_url}?return_to=${encodeURIComponent('/account')}`,
      oidcLoginUrl: `${seeded.oidc.login_url}?return_to=${encodeURIComponent('/account')}`,
      adminUrl: `${publicUrl}/admin`,
    };
    return { orgsync, idp, directory, publicUrl, apiKey, databaseFile, seeded, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What the demo prints: where to click, in order. */
export function demoInstructions(d: RunningDemo): string {
  return [
    '',
    '  orgsync demo — FOR DEMONSTRATION ONLY (a built-in identity provider that lets anyone sign in)',
    '  ----------------------------------------------------------------------------------------------',
    `  orgsync            ${d.publicUrl}        database: ${d.databaseFile}`,
    `  demo IdP           ${d.idp.url}/   (its console: people, groups, deactivate buttons)`,
    `  admin API key      ${d.apiKey}`,
    '',
    '  Seeded through the API: organizations acme-engineering, acme-sales (governed by the SAML connection',
    '  "acme-demo-saml" with a SCIM directory) and globex (governed by the OIDC connection "globex-demo-oidc").',
    '  The demo IdP provisioned alice, bob and carol @acme.example and the groups Engineering,',
    '  Engineering Leads and Sales over SCIM.',
    '',
    '  1. Sign in:      open ' + `${d.idp.links!.samlLoginUrl}`,
    '                   and press "Continue as Alice Anders".',
    `  2. See the sync: ${d.publicUrl}/account lists Acme Engineering (admin) and Acme Sales (member).`,
    `  3. At the IdP:   open ${d.idp.url}/ and press "Deactivate" next to Alice`,
    '                   (or "Remove from group" next to Sales): the IdP sends the SCIM request.',
    `  4. See the flag: ${d.publicUrl}/admin  (sign in with the admin API key above), or`,
    `                   curl -H "Authorization: Bearer ${d.apiKey}" ${d.publicUrl}/api/v1/organizations/acme-sales/sync-report`,
    `  5. Remove it:    on /admin, or  curl -X DELETE -H "Authorization: Bearer ${d.apiKey}" "${d.publicUrl}/api/v1/organizations/acme-sales/members?status=flagged"`,
    '',
    `  OpenID Connect:  ${d.idp.links!.oidcLoginUrl}  (log in as "dave", any password)`,
    '  Press Ctrl+C to stop. Every start uses a new database file.',
    '',
  ].join('\n');
}
