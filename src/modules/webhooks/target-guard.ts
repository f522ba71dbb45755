import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../../platform/errors.js';

const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

const isPublicV4 = (ip: ipaddr.IPv4): boolean => ip.range() === 'unicast';

/**
 * SSRF protection for webhook targets. Only public unicast addresses are allowed: IPv4 loopback,
 * RFC 1918, carrier-grade NAT, link-local, multicast, documentation and reserved ranges are refused,
 * and so is every IPv6 address outside global unicast 2000::/3 (IPv4-compatible ::/96, IPv4-mapped,
 * unique-local, link-local, site-local fec0::/10, multicast, the local-use NAT64 prefix
 * 64:ff9b:1::/48, discard) or inside it but special (Teredo, 6to4, documentation, ORCHID,
 * benchmarking), unless the operator sets WEBHOOK_ALLOW_PRIVATE_TARGETS=true. The well-known NAT64
 * prefix is judged by the IPv4 address it embeds: a DNS64 resolver answers every IPv4-only host that
 * way on an IPv6-only network.
 */
export function isPublicAddress(address: string): boolean {
  // A zone index (fe80::1%eth0) only ever scopes a link-local address to an interface.
  if (address.includes('%')) return false;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (ip.kind() === 'ipv4') return isPublicV4(ip as ipaddr.IPv4);
  const v6 = ip as ipaddr.IPv6;
  if (v6.match(NAT64_WELL_KNOWN)) return isPublicV4(ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4);
  return v6.match(GLOBAL_UNICAST_V6) && v6.range() === 'unicast';
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
