/**
 * A plain-HTTP admin page client with a cookie jar: what a browser does, minus the browser, for
 * tests of forms, CSRF and redirects.
 */
export interface AdminResponse {
  status: number;
  location: string | null;
  text: string;
}

export class AdminClient {
  /** The session cookie (`orgsync.sid=…`), or '' before sign-in. */
  cookie = '';
  /** Every other cookie the page set (the sign-in form's CSRF binding, notices). */
  readonly others = new Map<string, string>();
  /** The CSRF token of the last page fetched. */
  csrf = '';

  constructor(readonly baseUrl: string) {}

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      const cleared = pair.endsWith('=') || /expires=Thu, 01 Jan 1970/i.test(line);
      if (name === 'orgsync.sid') this.cookie = cleared ? '' : pair;
      else if (cleared) this.others.delete(name);
      else this.others.set(name, pair);
    }
  }

  /** What the browser would send: the session cookie and the others. */
  cookieHeader(): string {
    return [this.cookie, ...this.others.values()].filter(Boolean).join('; ');
  }

  async get(path: string): Promise<AdminResponse> {
    const cookie = this.cookieHeader();
    const res = await fetch(this.baseUrl + path, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
    this.remember(res);
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    return { status: res.status, location: res.headers.get('location'), text };
  }

  /** Posts a form; `csrf: false` leaves the token out, `origin` overrides the Origin header. */
  async post(path: string, fields: Record<string, string | string[]> = {}, opts: { csrf?: boolean | string; origin?: string | null } = {}): Promise<AdminResponse> {
    const body = new URLSearchParams();
    const token = opts.csrf === false ? undefined : typeof opts.csrf === 'string' ? opts.csrf : this.csrf;
    if (token) body.set('_csrf', token);
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    const origin = opts.origin === undefined ? new URL(this.baseUrl).origin : opts.origin;
    if (origin !== null) headers.origin = origin;
    const res = await fetch(this.baseUrl + path, { method: 'POST', headers, body, redirect: 'manual' });
    this.remember(res);
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** Posts a `multipart/form-data` form (file fields as `{ file, name }`), as a browser does for forms with a file input. */
  async postMultipart(path: string, fields: Record<string, string | { file: string; name: string }>): Promise<AdminResponse> {
    const body = new FormData();
    body.set('_csrf', this.csrf);
    for (const [k, v] of Object.entries(fields)) {
      if (typeof v === 'string') body.append(k, v);
      else body.append(k, new Blob([v.file], { type: 'application/json' }), v.name);
    }
    const headers: Record<string, string> = { origin: new URL(this.baseUrl).origin };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    const res = await fetch(this.baseUrl + path, { method: 'POST', headers, body, redirect: 'manual' });
    this.remember(res);
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  async signIn(key: string): Promise<AdminResponse> {
    await this.get('/admin/sign-in');
    return this.post('/admin/sign-in', { api_key: key });
  }
}
