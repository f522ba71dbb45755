import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import samlify from 'samlify';
import { SignedXml } from 'xml-crypto';

/**
 * An independent SAML IdP for tests, on loopback: samlify parses our AuthnRequest and signs the
 * response with the test-only key under fixtures/saml/keys; the browser leg (redirect to the IdP,
 * auto-posted form back to our ACS) goes over real HTTP. Negative scenarios are built from the
 * fixtures under fixtures/saml/responses and signed (or not) as each fixture says.
 */
const fixtures = new URL('../../fixtures/saml/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, fixtures), 'utf8');
export const keys = {
  'idp-test-only': { key: read('keys/idp-test-only.key'), cert: read('keys/idp-test-only.crt') },
  'other-test-only': { key: read('keys/other-test-only.key'), cert: read('keys/other-test-only.crt') },
};
type KeyName = keyof typeof keys;

samlify.setSchemaValidator({ validate: async () => 'ok' });

export interface IdpUser {
  nameId: string;
  email: string;
  groups?: string[];
}

export interface ResponseVars {
  acsUrl: string;
  spEntityId: string;
  requestId: string;
  user: IdpUser;
  overrides?: Record<string, string>;
}

const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
const relative = (v: string) => {
  const m = /^([+-]\d+)([smh])$/.exec(v);
  return m ? at(Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h']) : v;
};

export class SamlTestIdp {
  readonly entityId = 'https://idp.orgsync-tests.example/metadata';
  private server?: Server;
  url = '';
  /** Who is signed in at the IdP: the next AuthnRequest is answered for this user. */
  user: IdpUser = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        (html) => res.writeHead(200, { 'content-type': 'text/html' }).end(html),
        (err: Error) => res.writeHead(400, { 'content-type': 'text/plain' }).end(err.message),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  get ssoUrl(): string {
    return `${this.url}/sso`;
  }

  metadataXml(): string {
    return samlify
      .IdentityProvider({
        entityID: this.entityId,
        signingCert: keys['idp-test-only'].cert,
        singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: this.ssoUrl }],
      })
      .getMetadata();
  }

  /** The SP metadata the IdP admin imported; set by the test from our /metadata endpoint. */
  spMetadata = '';

  /** HTTP-Redirect AuthnRequest in, auto-posting form with a signed response out. */
  private async handle(path: string): Promise<string> {
    const url = new URL(path, this.url);
    const idp = samlify.IdentityProvider({
      entityID: this.entityId,
      privateKey: keys['idp-test-only'].key,
      signingCert: keys['idp-test-only'].cert,
      singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: this.ssoUrl }],
      loginResponseTemplate: { context: read('responses/response.template.xml'), attributes: [] },
    });
    const sp = samlify.ServiceProvider({ metadata: this.spMetadata });
    const parsed = await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(url.searchParams) });
    const acsUrl = String(parsed.extract.request?.assertionConsumerServiceUrl ?? sp.entityMeta.getAssertionConsumerService('post'));
    const spEntityId = String(parsed.extract.request?.issuer ?? sp.entityMeta.getEntityID());
    const requestId = String(parsed.extract.request?.id);
    const created = await idp.createLoginResponse(sp, parsed as unknown as Parameters<typeof idp.createLoginResponse>[1], 'post', { email: this.user.email }, (template: string) => {
      const { id, xml } = this.fill(template, { acsUrl, spEntityId, requestId, user: this.user });
      return { id, context: xml };
    });
    const { context } = created as { context: string };
    const relay = url.searchParams.get('RelayState') ?? '';
    return `<!doctype html><form method="post" action="${escapeXml(acsUrl)}"><input type="hidden" name="SAMLResponse" value="${context}"><input type="hidden" name="RelayState" value="${escapeXml(relay)}"></form>`;
  }

  /** Fills a response template: fresh ids and times, our ACS URL and entity id, the user. */
  fill(template: string, v: ResponseVars): { id: string; assertionId: string; xml: string } {
    const values: Record<string, string> = {
      RESPONSE_ID: `_r${randomUUID()}`,
      ASSERTION_ID: `_a${randomUUID()}`,
      NOW: at(0),
      NOT_BEFORE: at(-30_000),
      NOT_ON_OR_AFTER: at(5 * 60_000),
      DESTINATION: v.acsUrl,
      RECIPIENT: v.acsUrl,
      AUDIENCE: v.spEntityId,
      RESPONSE_ISSUER: this.entityId,
      ASSERTION_ISSUER: this.entityId,
      REQUEST_ID: v.requestId,
      NAME_ID: escapeXml(v.user.nameId),
      EMAIL: escapeXml(v.user.email),
      GROUP_VALUES: (v.user.groups ?? []).map((g) => `<saml:AttributeValue>${escapeXml(g)}</saml:AttributeValue>`).join(''),
    };
    for (const [k, val] of Object.entries(v.overrides ?? {})) values[k] = relative(val);
    const xml = template.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => values[k] ?? m);
    return { id: values.RESPONSE_ID!, assertionId: values.ASSERTION_ID!, xml };
  }

  /** A base64 SAMLResponse for a scenario fixture (`responses/<name>.json`, or a raw `.xml`). */
  scenario(name: string, v: Omit<ResponseVars, 'overrides'>): { samlResponse: string; assertionId: string } {
    if (name === 'signature-wrapping') {
      const legit = this.fill(read('responses/response.template.xml'), v);
      const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(legit.xml)![0];
      const signedAssertion = sign(assertion, 'assertion', 'idp-test-only');
      const xml = this.fill(read('responses/signature-wrapping.xml'), v).xml.replace('{{SIGNED_ASSERTION}}', signedAssertion.replace(/^<\?xml[^>]*>/, ''));
      return { samlResponse: Buffer.from(xml).toString('base64'), assertionId: legit.assertionId };
    }
    if (name === 'doctype-entities') {
      const { xml, assertionId } = this.fill(read('responses/doctype-entities.xml'), v);
      return { samlResponse: Buffer.from(xml).toString('base64'), assertionId };
    }
    const spec = JSON.parse(read(`responses/${name}.json`)) as { sign: 'response' | 'assertion' | 'none'; key: KeyName; vars: Record<string, string> };
    const { xml, assertionId } = this.fill(read('responses/response.template.xml'), { ...v, overrides: spec.vars });
    const signed = spec.sign === 'none' ? xml : sign(xml, spec.sign, spec.key);
    return { samlResponse: Buffer.from(signed).toString('base64'), assertionId };
  }
}

/** Enveloped RSA-SHA256 signature over the Response or the Assertion, placed after its Issuer. */
export function sign(xml: string, what: 'response' | 'assertion', key: KeyName): string {
  const path = what === 'response' ? "/*[local-name(.)='Response']" : "//*[local-name(.)='Assertion']";
  const sig = new SignedXml({
    privateKey: keys[key].key,
    publicCert: keys[key].cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: path,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { location: { reference: `${path}/*[local-name(.)='Issuer']`, action: 'after' }, existingPrefixes: {} });
  return sig.getSignedXml();
}
