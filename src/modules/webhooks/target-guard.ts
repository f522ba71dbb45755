import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../../platform/errors.js';

/**
 * SSRF protection for webhook targets. Only public unicast addresses are allowed: loopback,
 * RFC 1918, carrier-grade NAT, link-local, unique-local, multicast, reserved and the IPv6 ranges
 * that embed an IPv4 address (mapped, NAT64, 6to4, Teredo) are refused unless the operator sets
 * WEBHOOK_ALLOW_PRIVATE_TARGETS=true.
 */
export function isPublicAddress(address: string): boolean {
  try {
    // `process` turns ::ffff:10.0.0.1 into 10.0.0.1 so mapped addresses get the IPv4 verdict.
    return ipaddr.process(address.replace(/%.*$/, '')).range() === 'unicast';
  } catch {
    return false;
  }
}

export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Syntax checks that do not need the network: http(s), no credentials, a host. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_webhook_url', 400, 'Invalid request body: url: must be an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AppError('invalid_webhook_url', 400, 'Invalid request body: url: only http and https URLs are allowed.');
  if (url.username || url.password)
    throw new AppError('invalid_webhook_url', 400, 'Invalid request body: url: credentials in the URL are not allowed; verify the signature instead.');
  if (!url.hostname) throw new AppError('invalid_webhook_url', 400, 'Invalid request body: url: a host is required.');
  return url;
}

const notAllowed = (host: string, address: string) =>
  new AppError(
    'webhook_target_not_allowed',
    400,
    `Webhook target ${host} resolves to ${address}, a loopback, private or otherwise non-public address. Set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow internal receivers.`,
  );

/** Resolves the host and checks every address it resolves to (an attacker controls only one of them is enough). */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = hostOf(url);
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw notAllowed(host, host);
    return;
  }
  let addresses: dns.LookupAddress[];
  try {
    addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch {
    throw new AppError('webhook_target_unresolvable', 400, `Webhook target host ${host} does not resolve.`);
  }
  if (addresses.length === 0) throw new AppError('webhook_target_unresolvable', 400, `Webhook target host ${host} does not resolve.`);
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) throw notAllowed(host, bad.address);
}

/**
 * A `lookup` for http.request that refuses non-public answers at connect time, so a host that
 * resolved to a public address when the webhook was created cannot later rebind to an internal one.
 * The addresses checked are exactly the ones the socket connects to.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) {
      const e = Object.assign(new Error(`refused: ${hostname} resolves to non-public address ${bad?.address ?? '(none)'}`), { code: 'ERR_WEBHOOK_TARGET' });
      return callback(e, '', 4);
    }
    if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};
