/**
 * A minimal browser for SSO tests: a cookie jar (honouring Path), manual redirects, and form
 * auto-posting like the IdP pages do. Every hop is real HTTP on loopback.
 */
export interface Hop {
  status: number;
  url: string;
  headers: Headers;
  text: string;
}

export class Browser {
  private readonly cookies = new Map<string, Map<string, string>>();

  cookieHeader(url: string): string {
    const host = new URL(url).host;
    return [...(this.cookies.get(host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }

  private store(url: string, headers: Headers): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  async request(method: string, url: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Hop> {
    const res = await fetch(url, { method, body: init.body, redirect: 'manual', headers: { cookie: this.cookieHeader(url), ...init.headers } });
    this.store(url, res.headers);
    return { status: res.status, url, headers: res.headers, text: await res.text() };
  }

  /** Follows redirects (and auto-posting forms) until a page that is neither. */
  async follow(method: string, url: string, init: { body?: string; headers?: Record<string, string> } = {}, maxHops = 10): Promise<Hop> {
    let hop = await this.request(method, url, init);
    for (let i = 0; i < maxHops; i++) {
      const location = hop.headers.get('location');
      if (hop.status >= 300 && hop.status < 400 && location) {
        hop = await this.request('GET', new URL(location, hop.url).href, { headers: init.headers });
        continue;
      }
      const form = autoPostForm(hop.text);
      if (hop.status === 200 && form) {
        hop = await this.request('POST', new URL(form.action, hop.url).href, {
          body: new URLSearchParams(form.fields).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.headers },
        });
        continue;
      }
      return hop;
    }
    throw new Error('too many hops');
  }
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The IdP's auto-submitting form: action and hidden fields. */
export function autoPostForm(html: string): { action: string; fields: Record<string, string> } | null {
  const form = /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(html);
  if (!form || !/name="SAMLResponse"/.test(html)) return null;
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields[m[1]!] = unescape(m[2]!);
  return { action: unescape(form[1]!), fields };
}
