import { z } from 'zod';
import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { previewRules } from '../membership-sync/preview.js';
import { createConnectionBody, previewBody, updateConnectionBody } from './schema.js';
import { groupWarningsSchema } from '../reports/schema.js';
import { SP_KEY_USES } from './sp-keys.js';

const tag = 'Connections';

const metadataRefreshSchema = z.object({
  url: z.string(),
  last_success_at: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  next_refresh_at: z.string().nullable(),
  last_error: z.string().nullable(),
  failures: z.number(),
  valid_until: z.string().nullable(),
});

const connectionSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['saml', 'oidc']),
  domains: z.array(z.string()),
  idp: z.record(z.string(), z.unknown()).describe('SAML: entity_id, sso_url, certificates, and metadata_url when the settings come from a metadata URL. OIDC: issuer, client_id, scopes, client_secret_set (the secret is never returned).'),
  attribute_mapping: z.record(z.string(), z.array(z.string())),
  membership_rules: z.array(z.object({ organization_id: z.string(), organization: z.string(), role: z.string(), groups: z.array(z.string()).nullable() })),
  roles_managed_by: z.enum(['idp', 'admin']),
  membership_sync: z.enum(['on_login', 'scim_and_login']),
  allow_idp_initiated: z.boolean(),
  allow_sha1_signatures: z.boolean().describe('SAML: accept RSA-SHA1 signatures and SHA-1 digests (legacy IdPs only; default false).'),
  sign_authn_requests: z.boolean().nullable().describe("SAML: sign AuthnRequests with the connection's SP signing key; null follows the IdP metadata's WantAuthnRequestsSigned."),
  require_encrypted_assertions: z.boolean().describe('SAML: refuse responses whose assertion is not encrypted to the SP encryption key.'),
  auto_remove_flagged_after_days: z.number().nullable(),
  group_dn_match: z.enum(['dn', 'cn']).describe('How a group value that is an LDAP DN matches rule groups: `dn` the whole DN (default); `cn` also its first CN.'),
  group_warnings: groupWarningsSchema,
  sp: z.record(z.string(), z.string()).describe('SAML: entity_id, acs_url, metadata_url, login_url. OIDC: redirect_uri, login_url, jwks_uri.'),
  created_at: z.string(),
  updated_at: z.string(),
  status: z.enum(['active', 'setup']).describe('`setup` while a setup link is configuring it'),
  metadata_refresh: metadataRefreshSchema.nullable().optional().describe('SAML from a metadata URL: how its refresh stands (the last error is shown while the last good metadata stays in use); null otherwise'),
});

const refreshSchema = z.object({
  connection_id: z.string(),
  name: z.string(),
  ok: z.boolean().describe('False: the metadata could not be used; the connection keeps its last good metadata'),
  changed: z.boolean(),
  certificates_added: z.array(z.string()).describe('SHA-256 fingerprints'),
  certificates_removed: z.array(z.string()),
  sso_url_changed: z.boolean(),
  error: z.string().nullable(),
  metadata_refresh: metadataRefreshSchema,
});

const testSchema = z.object({
  connection_id: z.string(),
  name: z.string(),
  reached: z.boolean().describe('False when the discovery document could not be read; nothing else was checked then.'),
  ok: z.boolean(),
  checks: z.array(z.object({ check: z.string(), ok: z.boolean(), message: z.string() })),
});

const spKeySchema = z.object({
  id: z.string(),
  use: z.enum(['signing', 'encryption']),
  status: z.enum(['current', 'previous']).describe('`current` signs and is preferred for encryption; `previous` is still published and still decrypts until it is retired'),
  algorithm: z.string(),
  key_size: z.number(),
  kid: z.string().describe('JWK thumbprint (RFC 7638), the `kid` in the JWKS and in private_key_jwt assertions'),
  certificate: z.string().describe('PEM; the private key is never returned'),
  fingerprint_sha256: z.string(),
  not_after: z.string(),
  created_at: z.string(),
  rotated_at: z.string().nullable(),
  retire_after: z.string().nullable().describe('when a previous key stops counting on its own; null: until retired'),
  active: z.boolean().describe('signing: this key signs now (the previous one while a rotation overlaps, so IdPs and OPs learn the new key first); encryption: IdPs are asked to encrypt to this one'),
});
const spKeyList = z.object({ connection_id: z.string(), sp_keys: z.array(spKeySchema) });
const useField = z.enum(SP_KEY_USES as ['signing', 'encryption']).optional();
const rotateBody = z.strictObject({ use: useField, overlap_seconds: z.number().int().min(0).max(366 * 24 * 3600).nullable().optional() });
const retireBody = z.strictObject({ use: useField, key_id: z.string().max(100).optional() });

const change = z.object({ user_id: z.string(), organization_id: z.string() }).catchall(z.string());
const previewSchema = z.object({
  users_evaluated: z.number(),
  added: z.array(change),
  updated: z.array(change),
  flagged: z.array(change),
  restored: z.array(change),
  skipped: z.array(change),
});

export function connectionRoutes(c: Container, api: ApiRouter): void {
  api.post('/connections', { tag, summary: 'Create a SAML or OIDC connection', scopes: ['create:connections'], body: createConnectionBody, status: 201, response: connectionSchema }, async (_req, res, { body }) => {
    res.status(201).json(await c.connections.create(body, actorOf(res)));
  });
  api.get('/connections', { tag, summary: 'List connections', scopes: ['read:connections'], query: pageQuery, response: listOf('connections', connectionSchema) }, async (_req, res, { query }) => {
    const page = await c.connections.list(query.take, cursorOf(query.from, 'id'));
    res.json({ connections: page.items, next: page.next });
  });
  api.get('/connections/:id', { tag, summary: 'Get a connection by id or name', scopes: ['read:connections'], response: connectionSchema }, async (_req, res, { params }) => {
    res.json(await c.connections.get(params.id!));
  });
  api.patch('/connections/:id', { tag, summary: 'Update a connection', scopes: ['update:connections'], body: updateConnectionBody, status: 200, response: connectionSchema }, async (_req, res, { body, params }) => {
    res.json(await c.connections.update(params.id!, body, actorOf(res)));
  });
  api.delete('/connections/:id', { tag, summary: 'Delete a connection (its organizations become ungoverned; memberships stay)', scopes: ['delete:connections'], status: 204 }, async (_req, res, { params }) => {
    await c.connections.delete(params.id!, actorOf(res));
    res.status(204).end();
  });
  // Reads the OP's public discovery document and JWKS; changes nothing and sends no secret.
  api.post(
    '/connections/:id/test',
    { tag, summary: "Check an OIDC connection against its OP's discovery document: issuer, endpoints, algorithms, token endpoint authentication, JWKS", scopes: ['read:connections', 'update:connections'], status: 200, response: testSchema },
    async (_req, res, { params }) => {
      res.json(await c.connections.test(params.id!));
    },
  );
  api.post(
    '/connections/:id/metadata/refresh',
    { tag, summary: "Fetch a SAML connection's IdP metadata URL now: new signing certificates are accepted, removed ones no longer; a failure keeps the last good metadata", scopes: ['update:connections'], status: 200, response: refreshSchema },
    async (_req, res, { params }) => {
      res.json(await c.samlMetadata.refresh(params.id!, 'manual', actorOf(res)));
    },
  );
  api.get('/connections/:id/sp-keys', { tag, summary: "The connection's own keys (SAML request signing and assertion encryption, OIDC private_key_jwt): certificates and status, never private keys", scopes: ['read:connections'], response: spKeyList }, async (_req, res, { params }) => {
    const conn = await c.connections.require(c.db, params.id!);
    res.json({ connection_id: conn.id, sp_keys: await c.spKeys.list(conn) });
  });
  api.post(
    '/connections/:id/sp-keys/rotate',
    { tag, summary: 'New current key(s), published at once; the old one keeps signing and decrypting until retired (or for overlap_seconds)', scopes: ['update:connections'], body: rotateBody, status: 200, response: spKeyList },
    async (_req, res, { body, params }) => {
      const conn = await c.connections.require(c.db, params.id!);
      res.json({ connection_id: conn.id, sp_keys: await c.spKeys.rotate(conn, body, actorOf(res)) });
    },
  );
  api.post(
    '/connections/:id/sp-keys/retire',
    { tag, summary: 'Delete the previous key(s) left by a rotation: they leave the metadata and JWKS and stop decrypting', scopes: ['update:connections'], body: retireBody, status: 200, response: spKeyList },
    async (_req, res, { body, params }) => {
      const conn = await c.connections.require(c.db, params.id!);
      res.json({ connection_id: conn.id, sp_keys: await c.spKeys.retire(conn, body, actorOf(res)) });
    },
  );
  // A dry run: it changes nothing, so a key that may read or update connections may ask.
  api.post(
    '/connections/:id/preview',
    { tag, summary: 'Dry run of new membership rules (and optionally another group_dn_match) over the known users of the connection', scopes: ['read:connections', 'update:connections'], body: previewBody, status: 200, response: previewSchema },
    async (_req, res, { body, params }) => {
      const connection = await c.connections.require(c.db, params.id!);
      const rules = await c.connections.resolveRules(c.db, connection.id, body.membership_rules);
      res.json(await previewRules(c.db, c.membershipSync, { ...connection, group_dn_match: body.group_dn_match ?? connection.group_dn_match }, rules));
    },
  );
}
