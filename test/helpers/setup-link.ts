import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './app.js';
import { Browser, type Hop } from './sso-browser.js';

/** A customer's IT admin holding a setup link: a cookie jar on the link's pages and its CSRF token. */
export class SetupLinkVisitor {
  readonly browser = new Browser();
  csrf = '';
  constructor(private readonly t: TestApp) {}

  /** Opens the link URL (token → cookie) and reads the page state. */
  async open(url: string): Promise<Hop> {
    const hop = await this.browser.request('GET', url);
    if (hop.status === 303) this.csrf = (await this.state()).csrf_token;
    return hop;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  async state(): Promise<any> {
    const hop = await this.browser.request('GET', `${this.t.url}/setup`, { headers: { accept: 'application/json' } });
    return JSON.parse(hop.text);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  async post(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const hop = await this.browser.request('POST', `${this.t.url}/setup${path}`, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': this.csrf, ...headers },
    });
    return { status: hop.status, body: hop.text ? JSON.parse(hop.text) : undefined };
  }
}

/** Serves one document over HTTP on loopback (IdP metadata by URL). */
export async function serveDocument(body: () => string, contentType = 'application/samlmetadata+xml'): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': contentType }).end(body()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`, close: () => new Promise((r) => server.close(() => r())) };
}
