import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoSecret } from './keys.js';
import type { DemoDirectory } from './directory.js';
import { chooserPage, consolePage, layout, type ConsoleLinks } from './idp-pages.js';
import { autoPostPage, type SamlIdpCore } from './saml-idp.js';
import { grantedAtOnce } from './grant-outcome.js';
import type { ApiClient } from './seed.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_FORM_BYTES = 256 * 1024;

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

const html = (res: ServerResponse, status: number, body: string) =>
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);

/**
 * FOR DEMONSTRATION ONLY: one loopback HTTP server for the demo IdP. `/` is its console, `/saml/*`
 * its SAML endpoints, `/actions/*` the buttons that send SCIM requests; every other path belongs
 * to the OpenID Provider, whose issuer is this server's root URL.
 */
export class DemoIdpServer {
  private server?: Server;
  url = '';
  /** The SP metadata, fetched from orgsync's metadata URL like an IdP admin imports it. */
  spMetadata = '';
  links?: ConsoleLinks;
  /** orgsync's management API, to tell what a SCIM change did there. */
  orgsync?: ApiClient;
  op: Handler = (_req, res) => res.writeHead(503).end('The OpenID Provider is not configured yet.');
  private readonly csrf = demoSecret();

  constructor(private readonly saml: () => SamlIdpCore, private readonly dir: DemoDirectory) {}

  async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) html(res, 400, layout('Demo IdP error', `<h1>Demo IdP error</h1><p>${String((err as Error).message).replace(/[<>&]/g, '')}</p><p><a href="/">Back</a></p>`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') {
      if (!this.links) return void html(res, 503, layout('Demo IdP', '<p>Starting…</p>'));
      return void html(res, 200, consolePage(this.dir, this.links, this.csrf, url.searchParams.get('msg')));
    }
    if (req.method === 'GET' && path === '/saml/metadata') {
      return void res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(this.saml().metadataXml());
    }
    if (req.method === 'GET' && path === '/saml/logout') {
      // The demo IdP keeps no sign-in session of its own: there is nothing to end.
      return void res.writeHead(303, { location: '/?msg=Signed%20out%20at%20the%20demo%20IdP.' }).end();
    }
    if (req.method === 'GET' && path === '/saml/sso') {
      // Parsed now to refuse a bad request early; parsed again on continue (no IdP-side state).
      const query = Object.fromEntries(url.searchParams);
      await this.saml().parseRequest(this.spMetadata, query);
      return void html(res, 200, chooserPage(this.dir, query));
    }
    if (req.method === 'POST' && path === '/saml/continue') {
      const { person: key, ...query } = await readForm(req);
      const person = this.dir.person(key ?? '');
      if (!person?.active) throw new Error('That person cannot sign in (unknown or deactivated at the IdP).');
      const pending = await this.saml().parseRequest(this.spMetadata, query);
      const user = { nameId: person.email, email: person.email, givenName: person.givenName, familyName: person.familyName, name: `${person.givenName} ${person.familyName}`, groups: person.groups };
      const samlResponse = await this.saml().respond(this.spMetadata, pending, user);
      return void html(res, 200, autoPostPage(pending.acsUrl, samlResponse, pending.relayState));
    }
    if (req.method === 'POST' && path.startsWith('/actions/')) return this.action(path.slice('/actions/'.length), await readForm(req), res);
    this.op(req, res);
  }

  private async action(name: string, form: Record<string, string>, res: ServerResponse): Promise<void> {
    // The console's buttons change state: refuse posts from other pages.
    if (form.csrf !== this.csrf) throw new Error('This form has expired; reload the demo IdP page.');
    const person = this.dir.person(form.person ?? '');
    if (!person) throw new Error('Unknown person.');
    const group = form.group ?? '';
    const who = `${person.givenName} ${person.familyName}`;
    let message: string;
    if (name === 'deactivate') {
      await this.dir.setActive(person.key, false);
      message = `Deactivated ${who}: sent SCIM PATCH active=false. orgsync flagged their memberships and ended their sessions.`;
    } else if (name === 'reactivate') {
      await this.dir.setActive(person.key, true);
      message = `Reactivated ${who}: sent SCIM PATCH active=true.`;
    } else if (name === 'remove-group') {
      await this.dir.removeFromGroup(person.key, group);
      message = `Removed ${who} from ${group}: sent a SCIM group PATCH. A membership that only this group granted is now flagged.`;
    } else if (name === 'add-group') {
      const since = new Date().toISOString();
      await this.dir.addToGroup(person.key, group);
      // A grant that answers a flag restores access at once; a new grant waits for the next sign-in.
      const now = this.orgsync ? await grantedAtOnce(this.orgsync, person.email, since) : [];
      message = now.length
        ? `Added ${who} to ${group}: sent a SCIM group PATCH. orgsync restored their access to ${now.join(', ')} at once.`
        : `Added ${who} to ${group}: sent a SCIM group PATCH. orgsync applies it at their next sign-in.`;
    } else throw new Error('Unknown action.');
    res.writeHead(303, { location: `/?msg=${encodeURIComponent(message)}` }).end();
  }
}
