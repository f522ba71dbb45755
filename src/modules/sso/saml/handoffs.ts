import type { Db } from '../../../platform/db.js';
import { parseJson } from '../../../platform/db.js';
import { randomToken, sha256 } from '../../../platform/crypto.js';
import type { LoginProfile } from '../login-profile.js';

/** How long a validated response waits for its browser: one redirect, even on a slow link. */
export const HANDOFF_TTL_MS = 2 * 60 * 1000;

export interface Handoff {
  connectionId: string;
  requestId: string | null;
  relayState: string | null;
  profile: LoginProfile;
}

interface HandoffRow {
  id_hash: string;
  connection_id: string;
  request_id: string | null;
  relay_state: string | null;
  profile: string;
  expires_at: string;
}

/**
 * Validated SAML responses between the ACS POST and the same-site GET that finishes the sign-in.
 * One row per response the IdP signed (never per anonymous request), used once, pruned when stale.
 */
export async function saveHandoff(db: Db, h: Handoff, now: Date): Promise<string> {
  await db('saml_login_handoffs').where('expires_at', '<=', now.toISOString()).delete();
  const token = randomToken('', 32);
  await db('saml_login_handoffs').insert({
    id_hash: sha256(token),
    connection_id: h.connectionId,
    request_id: h.requestId,
    relay_state: h.relayState,
    profile: JSON.stringify(h.profile),
    expires_at: new Date(now.getTime() + HANDOFF_TTL_MS).toISOString(),
  });
  return token;
}

export async function findHandoff(db: Db, connectionId: string, token: string, now: Date): Promise<Handoff | undefined> {
  const row = await db<HandoffRow>('saml_login_handoffs')
    .where({ id_hash: sha256(token), connection_id: connectionId })
    .where('expires_at', '>', now.toISOString())
    .first();
  if (!row) return undefined;
  const profile = parseJson<LoginProfile | null>(row.profile, null);
  if (!profile) return undefined;
  return { connectionId: row.connection_id, requestId: row.request_id, relayState: row.relay_state, profile };
}

/** Takes the handoff for good; false when another request took it first. */
export async function takeHandoff(db: Db, connectionId: string, token: string): Promise<boolean> {
  return (await db('saml_login_handoffs').where({ id_hash: sha256(token), connection_id: connectionId }).delete()) === 1;
}
