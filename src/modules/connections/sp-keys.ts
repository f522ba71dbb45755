import { createHash, generateKeyPair, randomBytes, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { pemCertificate, selfSignedCertificate } from '../../platform/x509.js';

/** What a connection's own key is for: SAML AuthnRequests and OIDC private_key_jwt, or SAML EncryptedAssertion. */
export type SpKeyUse = 'signing' | 'encryption';
export const SP_KEY_USES: readonly SpKeyUse[] = ['signing', 'encryption'];
export type SpKeyStatus = 'current' | 'previous';

/** RSA 2048 with SHA-256: what every SAML IdP and OpenID Provider in use accepts for signatures and key transport. */
export const SP_KEY_ALGORITHM = 'RS256';
export const SP_KEY_BITS = 2048;
/** Nobody checks an SP certificate's dates; a long validity keeps IdPs that do warn quiet. */
const CERT_VALIDITY_MS = 20 * 365 * 24 * 3600_000;

export const usesOf = (type: 'saml' | 'oidc'): SpKeyUse[] => (type === 'saml' ? ['signing', 'encryption'] : ['signing']);

/** A freshly generated key, before it is sealed and stored. */
export interface NewSpKey {
  use: SpKeyUse;
  kid: string;
  /** Bare base64 DER. */
  certificate: string;
  privateKeyPem: string;
}

const generate = promisify(generateKeyPair);

/** Where new RSA key pairs come from: `generateRsaKeyPair` unless a test supplies pairs it made already. */
export type KeyPairSource = (bits: number) => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;
export const generateRsaKeyPair: KeyPairSource = (bits) => generate('rsa', { modulusLength: bits });

/** RFC 7638 thumbprint of the public key: a `kid` that names the key and nothing else. */
export function thumbprint(jwk: JsonWebKey): string {
  return createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
}

/** Runs on the thread pool (about 0.2 s for RSA 2048): the event loop keeps serving meanwhile. */
export async function generateSpKey(use: SpKeyUse, connectionName: string, now: Date, keyPairs: KeyPairSource = generateRsaKeyPair): Promise<NewSpKey> {
  const { privateKey, publicKey } = await keyPairs(SP_KEY_BITS);
  const certificate = selfSignedCertificate({
    privateKey,
    publicKey,
    commonName: `orgsync ${connectionName} ${use}`.slice(0, 64),
    serial: randomBytes(16),
    notBefore: now,
    notAfter: new Date(now.getTime() + CERT_VALIDITY_MS),
  });
  return { use, kid: thumbprint(publicKey.export({ format: 'jwk' })), certificate, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A stored key as the API shows it: the public certificate and its fingerprints, never the private key. */
export interface SpKeyView {
  id: string;
  use: SpKeyUse;
  status: SpKeyStatus;
  algorithm: string;
  key_size: number;
  kid: string;
  certificate: string;
  fingerprint_sha256: string;
  not_after: string;
  created_at: string;
  rotated_at: string | null;
  retire_after: string | null;
  /** Signing: this key signs now (the previous one while a rotation overlaps). Encryption: IdPs are asked to encrypt to this one (the current). */
  active: boolean;
}


type KeyRowLike = { id: string; use: string; status: string; kid: string; certificate: string; created_at: string; rotated_at: string | null; retire_after: string | null };

/** Views of a connection's live keys, with which one is in use (see signingKeyOf). */
export function toKeyViews(rows: readonly KeyRowLike[]): SpKeyView[] {
  const previousSigner = rows.some((r) => r.use === 'signing' && r.status === 'previous');
  return rows.map((r) => toKeyView(r, r.use === 'signing' ? (r.status === 'previous') === previousSigner : r.status === 'current'));
}

function toKeyView(row: KeyRowLike, active: boolean): SpKeyView {
  const x509 = new X509Certificate(Buffer.from(row.certificate, 'base64'));
  return {
    id: row.id,
    use: row.use as SpKeyUse,
    status: row.status as SpKeyStatus,
    algorithm: SP_KEY_ALGORITHM,
    key_size: SP_KEY_BITS,
    kid: row.kid,
    certificate: pemCertificate(row.certificate),
    fingerprint_sha256: x509.fingerprint256,
    not_after: new Date(x509.validTo).toISOString(),
    created_at: row.created_at,
    rotated_at: row.rotated_at,
    retire_after: row.retire_after,
    active,
  };
}

/** A key ready to use: its private half is opened only when asked for. */
export interface UsableSpKey {
  id: string;
  kid: string;
  status: SpKeyStatus;
  /** Bare base64 DER. */
  certificate: string;
  privateKeyPem(): string;
}

/** The public JWK of a signing key, as published at the connection's JWKS URL. */
export function publicJwk(key: UsableSpKey): JsonWebKey & { kid: string; use: 'sig'; alg: string } {
  // From the certificate: publishing keys never opens a private one.
  const pub = new X509Certificate(Buffer.from(key.certificate, 'base64')).publicKey.export({ format: 'jwk' });
  return { kty: pub.kty, n: pub.n, e: pub.e, kid: key.kid, use: 'sig', alg: SP_KEY_ALGORITHM };
}

/** A connection's usable keys per use, the current one first. */
export interface SpKeySet {
  signing: UsableSpKey[];
  encryption: UsableSpKey[];
}

/**
 * The key that signs (AuthnRequests, private_key_jwt assertions): during a rotation's overlap still
 * the previous one, so that IdPs and OPs that read the metadata or JWKS (and cache it: oidc-provider
 * for at least a minute, others for hours) know the new key before anything is signed with it. The
 * new key signs once the previous one is retired or its overlap ends. Encryption needs no such
 * wait: both keys decrypt, and the new one is listed first for IdPs to encrypt to.
 */
export function signingKeyOf(keys: SpKeySet): UsableSpKey | undefined {
  return keys.signing.find((k) => k.status === 'previous') ?? keys.signing[0];
}
