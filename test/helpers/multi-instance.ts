import type { ChildProcess } from 'node:child_process';
import { apiClient, jsonRequest, type ApiResponse, type TestApp } from './app.js';
import { freePort, startMain, stopProcess } from './process.js';
import { Browser, autoPostForm } from './sso-browser.js';
import type { SamlTestIdp, IdpUser } from './saml-idp.js';

/** One running server process, reachable like a TestApp for the helpers that only need url + api. */
export interface Instance extends Pick<TestApp, 'url' | 'api'> {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `src/main.ts` on `port` with `env`; `api` speaks the management API with `adminKey`. */
export async function startInstance(env: Record<string, string>, adminKey: string, port?: number): Promise<Instance> {
  const p = port ?? (await freePort());
  const s = await startMain({ ...env, PORT: String(p) });
  return {
    child: s.child,
    url: s.url,
    output: s.output,
    stop: (signal = 'SIGTERM') => stopProcess(s.child, signal),
    api: apiClient(s.url, adminKey),
  };
}

/** SCIM over real HTTP against one instance. */
export function scimOn(url: string, directoryId: string, token: string) {
  return (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    jsonRequest(`${url}/scim/v2/${directoryId}${path}`, method, { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body === undefined ? undefined : JSON.stringify(body));
}

/**
 * A SAML sign-in that starts on one instance and whose IdP form is posted to another (as a load
 * balancer would route the requests): the request id must validate there, and the validated
 * response must wait in the shared database for the continuation.
 */
let idpTurn: Promise<unknown> = Promise.resolve();

export async function crossInstanceLogin(start: string, acsOn: string, connectionId: string, idp: SamlTestIdp, user: IdpUser): Promise<{ status: number; location: string | null; me: ApiResponse }> {
  const browser = new Browser();
  const toIdp = await browser.request('GET', `${start}/sso/saml/${connectionId}/login`);
  // The test IdP answers for whoever is "signed in" there: take turns at the IdP, race at the ACS.
  const turn = idpTurn.then(async () => {
    idp.user = user;
    return browser.request('GET', toIdp.headers.get('location') ?? 'missing-location');
  });
  idpTurn = turn.catch(() => undefined);
  const idpPage = await turn;
  const form = autoPostForm(idpPage.text);
  if (!form) throw new Error(`IdP answered ${idpPage.status}: ${idpPage.text.slice(0, 200)}`);
  const acs = new URL(form.action);
  const target = `${acsOn}${acs.pathname}`;
  const posted = await browser.request('POST', target, { body: new URLSearchParams(form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  // The continuation, on the ACS's instance, with the pre-login cookie the first instance set: behind
  // one load balancer both are the same site to the browser.
  const next = posted.headers.get('location');
  const done = posted.status === 303 && next ? await browser.request('GET', new URL(next, target).href, { headers: { cookie: browser.cookieHeader(start) } }) : posted;
  const me = await browser.request('GET', `${acsOn}/api/v1/me`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(me.text);
  } catch {
    parsed = undefined;
  }
  return { status: done.status, location: done.headers.get('location'), me: { status: me.status, headers: me.headers, body: parsed, text: me.text } };
}
