import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './process.js';

/**
 * SimpleSAMLphp, a SAML IdP nobody here wrote, from Debian's `simplesamlphp` package, served by
 * `php -S` on loopback with a configuration made for one test run: its own users (exampleauth
 * UserPass, with multi-valued group attributes), its signing key, and orgsync registered as a remote SP.
 */
const WWW = '/usr/share/simplesamlphp/www';
export const hasSimpleSamlPhp = existsSync(WWW) && ['/usr/bin/php', '/usr/local/bin/php'].some((p) => existsSync(p));
if (!hasSimpleSamlPhp) console.log('[third-party IdP tests] SimpleSAMLphp skipped: apt-get install simplesamlphp php-cli php-xml php-mbstring');

export interface SspUser {
  username: string;
  password: string;
  attributes: Record<string, string[]>;
}

export interface SspSp {
  entityId: string;
  acsUrl: string;
  /** The SAML attribute that becomes the NameID; omitted, SimpleSAMLphp sends its default, a transient NameID new at every sign-in. */
  nameIdAttribute?: string;
  /** The SP's certificates (bare base64), as an IdP admin copies them from the SP metadata. */
  keys?: Array<{ use: 'signing' | 'encryption'; certificate: string }>;
  /** `validate.authnrequest`: refuse AuthnRequests without a valid signature by one of the signing keys. */
  validateAuthnRequest?: boolean;
  /** `assertion.encryption`: encrypt assertions to the SP's encryption key. */
  encryptAssertion?: boolean;
}

const php = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(php).join(', ')}]`;
  if (v && typeof v === 'object') return `[${Object.entries(v).map(([k, x]) => `${php(k)} => ${php(x)}`).join(', ')}]`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
};

const fixtures = new URL('../../fixtures/saml/keys/', import.meta.url);

export class SimpleSamlPhpIdp {
  url = '';
  private child?: ChildProcess;
  private readonly dir = tempDir('orgsync-ssp-');
  private log = '';

  constructor(private readonly users: SspUser[]) {}

  get metadataUrl(): string {
    return `${this.url}/saml2/idp/metadata.php`;
  }

  get entityId(): string {
    return this.metadataUrl;
  }

  private readonly sps: SspSp[] = [];

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    for (const d of ['cert', 'log', 'data', 'tmp', 'metadata']) mkdirSync(join(this.dir, d), { recursive: true });
    writeFileSync(join(this.dir, 'cert/idp.key'), readFileSync(new URL('other-test-only.key', fixtures)));
    writeFileSync(join(this.dir, 'cert/idp.crt'), readFileSync(new URL('other-test-only.crt', fixtures)));
    const config = {
      baseurlpath: `${this.url}/`,
      certdir: join(this.dir, 'cert/'),
      loggingdir: join(this.dir, 'log/'),
      datadir: join(this.dir, 'data/'),
      tempdir: join(this.dir, 'tmp/'),
      technicalcontact_name: 'Tests',
      technicalcontact_email: 'tests@example.org',
      timezone: 'UTC',
      secretsalt: `salt-${port}-0123456789abcdef`,
      'auth.adminpassword': `unused-${port}-0123456789`,
      'admin.protectindexpage': false,
      'admin.protectmetadata': false,
      'enable.saml20-idp': true,
      'logging.handler': 'errorlog',
      'store.type': 'phpsession',
      'session.cookie.secure': false,
      'session.phpsession.cookiename': 'SSPSESSID',
      // Debian's package lacks /usr/share/simplesamlphp/attributemap; the maps live under /etc.
      attributenamemapdir: '/etc/simplesamlphp/attributemap/',
      'module.enable': { exampleauth: true, core: true, saml: true, admin: true },
      'metadata.sources': [{ type: 'flatfile', directory: join(this.dir, 'metadata') }],
    };
    writeFileSync(join(this.dir, 'config.php'), `<?php\n$config = ${php(config)};\n$config['logging.level'] = SimpleSAML\\Logger::ERR;\n`);
    this.writeUsers();
    writeFileSync(
      join(this.dir, 'metadata/saml20-idp-hosted.php'),
      `<?php\n$metadata['__DYNAMIC:1__'] = ${php({ host: '__DEFAULT__', privatekey: 'idp.key', certificate: 'idp.crt', auth: 'users', 'signature.algorithm': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' })};\n`,
    );
    this.writeSps();

    // No opcache: it would serve a users file rewritten within opcache.revalidate_freq (2 s by
    // default, and php -S is not exempt the way the CLI is) from its stale compiled copy.
    this.child = spawn('php', ['-d', 'opcache.enable=0', '-S', `127.0.0.1:${port}`, '-t', WWW], { env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: this.dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(this.metadataUrl).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`SimpleSAMLphp did not start:\n${this.log.slice(-2000)}`);
  }

  /** Writes the users (again): the IdP reads them at its next sign-in, as after a change in its directory. */
  writeUsers(): void {
    const accounts = Object.fromEntries(this.users.map((u) => [`${u.username}:${u.password}`, u.attributes]));
    writeFileSync(join(this.dir, 'authsources.php'), `<?php\n$config = ${php({ admin: ['core:AdminPassword'], users: { 0: 'exampleauth:UserPass', ...accounts } })};\n`);
  }

  /** Registers a service provider (an orgsync connection); read by the IdP on its next request. */
  addSp(sp: SspSp): void {
    this.sps.push(sp);
    this.writeSps();
  }

  /** Changes a registered service provider, as its IdP admin would after the SP's keys changed. */
  updateSp(entityId: string, patch: Partial<SspSp>): void {
    const sp = this.sps.find((s) => s.entityId === entityId);
    if (!sp) throw new Error(`no SP ${entityId}`);
    Object.assign(sp, patch);
    this.writeSps();
  }

  private writeSps(): void {
    const remote = this.sps
      .map((sp) => {
        const entry: Record<string, unknown> = { AssertionConsumerService: sp.acsUrl };
        if (sp.nameIdAttribute) Object.assign(entry, { NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', 'simplesaml.nameidattribute': sp.nameIdAttribute });
        if (sp.keys) entry.keys = sp.keys.map((k) => ({ type: 'X509Certificate', signing: k.use === 'signing', encryption: k.use === 'encryption', X509Certificate: k.certificate }));
        if (sp.validateAuthnRequest !== undefined) entry['validate.authnrequest'] = sp.validateAuthnRequest;
        if (sp.encryptAssertion !== undefined) entry['assertion.encryption'] = sp.encryptAssertion;
        return `$metadata[${php(sp.entityId)}] = ${php(entry)};`;
      })
      .join('\n');
    writeFileSync(join(this.dir, 'metadata/saml20-sp-remote.php'), `<?php\n${remote}\n`);
  }

  async metadataXml(): Promise<string> {
    return (await fetch(this.metadataUrl)).text();
  }

  /** Recent server output, for a failing test's message. */
  output(): string {
    return this.log.slice(-3000);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
