import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, tempDir } from './process.js';

/**
 * glewlwyd, an OpenID provider nobody here wrote, from Debian's `glewlwyd` package: its own
 * configuration and SQLite database for one test run (the package's install SQL), started on
 * loopback, then set up through its admin API as an IT admin would: an OIDC plugin signing with a key
 * made here, users with a multi-valued `groups` property, and orgsync registered as a client.
 */
const BIN = '/usr/bin/glewlwyd';
const WEBAPP = '/usr/share/glewlwyd/webapp';
const INSTALL_SQL = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
/** Debian ships `webapp/config.json` as a link to a directory holding the real file. */
const WEBAPP_CONFIG = ['/etc/glewlwyd/config-2.7.json/config.json', '/etc/glewlwyd/config-2.7.json'];
const webappConfig = WEBAPP_CONFIG.find((p) => existsSync(p) && !readdirSafe(p));
export const hasGlewlwyd = existsSync(BIN) && existsSync(INSTALL_SQL) && existsSync(WEBAPP) && webappConfig !== undefined;
if (!hasGlewlwyd) console.log('[third-party IdP tests] glewlwyd skipped: apt-get install glewlwyd');

function readdirSafe(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}

export interface GlewlwydUser {
  username: string;
  password: string;
  name: string;
  email: string;
  groups: string[];
}

export interface GlewlwydClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** What the client may use at the token endpoint; glewlwyd's own default is `client_secret_basic` alone. */
  authMethods: string[];
}

/** The admin account of the package's install SQL. */
const ADMIN = { username: 'admin', password: 'password' };
const PLUGIN = 'oidc';

export class GlewlwydOp {
  url = '';
  private child?: ChildProcess;
  private readonly dir = tempDir('orgsync-glewlwyd-');
  private log = '';
  private cookie = '';

  get issuer(): string {
    return `${this.url}/api/${PLUGIN}`;
  }

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const web = join(this.dir, 'webapp');
    // A real copy: glewlwyd serves no file through a symbolic link out of its static folder.
    cpSync(WEBAPP, web, { recursive: true, dereference: true, filter: (src) => src !== join(WEBAPP, 'config.json') });
    copyFileSync(webappConfig!, join(web, 'config.json'));
    const db = new Database(join(this.dir, 'glewlwyd.db'));
    db.exec(readFileSync(INSTALL_SQL, 'utf8'));
    db.close();
    const mime = [['.html', 'text/html'], ['.js', 'application/javascript'], ['.css', 'text/css'], ['.json', 'application/json'], ['.png', 'image/png'], ['.ico', 'image/x-icon'], ['.woff2', 'font/woff2'], ['.woff', 'font/woff'], ['.ttf', 'font/ttf']]
      .map(([extension, type]) => `{ extension = "${extension}" mime_type = "${type}" }`)
      .join(', ');
    writeFileSync(
      join(this.dir, 'glewlwyd.conf'),
      [
        `port=${port}`,
        'bind_address="127.0.0.1"',
        `external_url="${this.url}"`,
        'login_url="login.html"',
        `static_files_path="${web}/"`,
        `static_files_mime_types = ( ${mime} )`,
        'api_prefix="api"',
        'allow_origin="*"',
        'log_mode="console"',
        'log_level="WARNING"',
        'cookie_secure=0',
        'cookie_same_site="empty"',
        'session_expiration=3600',
        'session_key="GLEWLWYD2_SESSION_ID"',
        'admin_session_authentication="cookie"',
        'profile_session_authentication="cookie"',
        'allow_multiple_user_per_session=true',
        'login_api_enabled=true',
        'add_x_frame_option_header_deny=true',
        'admin_scope="g_admin"',
        'profile_scope="g_profile"',
        'user_module_path="/usr/lib/glewlwyd/user"',
        'client_module_path="/usr/lib/glewlwyd/client"',
        'user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"',
        'plugin_module_path="/usr/lib/glewlwyd/plugin"',
        // Plain http on loopback: without these empty paths glewlwyd believes TLS is wanted and exits.
        'use_secure_connection=false',
        'secure_connection_key_file=""',
        'secure_connection_pem_file=""',
        'hash_algorithm="SHA512"',
        `database = { type = "sqlite3" path = "${join(this.dir, 'glewlwyd.db')}" }`,
        '',
      ].join('\n'),
    );
    this.child = spawn(BIN, ['-c', join(this.dir, 'glewlwyd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    for (let i = 0; i < 100 && !this.cookie; i++) {
      const res = await fetch(`${this.url}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) }).catch(() => null);
      if (res?.ok) this.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (!this.cookie) throw new Error(`glewlwyd did not start:\n${this.output()}`);
    await this.configure();
  }

  /** Calls the admin API; glewlwyd answers errors as a JSON list of messages. */
  private async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}/api${path}`, { method, headers: { cookie: this.cookie, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`glewlwyd ${method} ${path}: ${res.status} ${text}\n${this.output()}`);
    return text ? (JSON.parse(text) as unknown) : null;
  }

  private async configure(): Promise<void> {
    // A multi-valued `groups` property on users of the database backend.
    const users = (await this.admin('GET', '/mod/user/database')) as { parameters: { 'data-format': Record<string, unknown> } };
    users.parameters['data-format'].groups = { multiple: true, read: true, write: true, 'profile-read': true, 'profile-write': false };
    await this.admin('PUT', '/mod/user/database', users);
    await this.admin('PUT', '/mod/user/database/reset');
    // Signing in to a client asking for `openid` takes the user's password (not only an existing session).
    await this.admin('PUT', '/scope/openid', { name: 'openid', display_name: 'Open ID', description: 'Open ID Connect scope', password_required: true, password_max_age: 0, scheme: {} });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
    await this.admin('POST', '/mod/plugin/', {
      module: 'oidc',
      name: PLUGIN,
      display_name: 'OpenID Connect',
      enabled: true,
      parameters: {
        iss: this.issuer,
        'jwt-type': 'rsa',
        'jwt-key-size': '256',
        'jwks-private': JSON.stringify({ keys: [jwk] }),
        'default-kid': jwk.kid,
        'jwks-show': true,
        'access-token-duration': 3600,
        'refresh-token-duration': 1209600,
        'code-duration': 600,
        'refresh-token-rolling': true,
        'allow-non-oidc': false,
        'auth-type-code-enabled': true,
        'auth-type-token-enabled': false,
        'auth-type-id-token-enabled': false,
        'auth-type-none-enabled': false,
        'auth-type-password-enabled': false,
        'auth-type-client-enabled': false,
        'auth-type-refresh-enabled': true,
        'secret-type': 'public',
        'pkce-allowed': true,
        'name-claim': 'mandatory',
        'email-claim': 'mandatory',
        'scope-claim': 'no',
        'address-claim': { type: 'no', mandatory: false },
        claims: [{ name: 'groups', 'user-property': 'groups', type: 'string', mandatory: true, 'on-demand': false, scope: [] }],
        scope: [],
        'additional-parameters': [],
        'allowed-scope': ['openid'],
      },
    });
  }

  async addUser(u: GlewlwydUser): Promise<void> {
    await this.admin('POST', '/user/', { username: u.username, password: u.password, name: u.name, email: u.email, groups: u.groups, scope: ['openid'], enabled: true });
  }

  /** Changes a user's groups in glewlwyd's directory, as its admin would. */
  async setGroups(u: GlewlwydUser, groups: string[]): Promise<void> {
    u.groups = groups;
    await this.admin('PUT', `/user/${u.username}`, { username: u.username, name: u.name, email: u.email, groups, scope: ['openid'], enabled: true });
  }

  async addClient(c: GlewlwydClient): Promise<void> {
    await this.admin('POST', '/client/', {
      client_id: c.clientId,
      name: c.clientId,
      confidential: true,
      client_secret: c.clientSecret,
      redirect_uri: [c.redirectUri],
      authorization_type: ['code'],
      token_endpoint_auth_method: c.authMethods,
      scope: [],
      enabled: true,
    });
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
