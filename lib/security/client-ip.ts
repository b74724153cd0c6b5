/**
 * Who is asking, as the key of every per-client limit.
 *
 * Next's request object carries no socket address, so the web server (scripts/serve-web.mjs)
 * puts two headers of its own on every request, replacing any copy the client sent: the socket's
 * peer address, and the X-Forwarded-For it received. X-Forwarded-For counts only when the
 * operator says proxies are in front (TRUST_PROXY = n): each trusted proxy appends the address it
 * saw, so the client is the n-th entry from the right of the chain "forwarded-for…, peer".
 *
 * Fail closed: without the peer header (plain `next start` or `next dev`), Next passes on the
 * client's own X-Forwarded-For, so it counts only when TRUST_PROXY says proxies are in front,
 * and only as far as the hops they add. Any request whose address cannot be known shares one
 * bucket, "unknown": rotating a header gains nothing.
 *
 * IPv6 clients count per network (`ipv6Prefix` bits, default /64, what one subscriber or one
 * server is given): one /64 holds more addresses than any limit has points. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, in any spelling) is its IPv4 address.
 *
 * The bucket is kept only as a keyed hash (HMAC-SHA256 under IP_HASH_SECRET): it keys the rate
 * limits and is stored with a check until the rate-limit window ends.
 */
import { createHmac } from "node:crypto";
import net from "node:net";
import ipaddr from "ipaddr.js";

export const PEER_HEADER = "x-relaycheck-peer";
export const FORWARDED_FOR_HEADER = "x-relaycheck-forwarded-for";
export const UNKNOWN_CLIENT = "unknown";
/** Bits of an IPv6 address that make one client (RATE_LIMIT_IPV6_PREFIX). */
export const DEFAULT_IPV6_PREFIX = 64;

export interface ClientAddressSettings {
  /** Proxies in front of the service whose X-Forwarded-For entries count (TRUST_PROXY). */
  trustedProxies: number;
  /** IPv6 clients are bucketed by this many leading bits (32–128). */
  ipv6Prefix: number;
}

/** What these functions read of a request's headers (a fetch Headers, or node's headers read alike). */
export type HeaderReader = Pick<Headers, "get">;

/** The key of the request's per-client limits: see the module comment. */
export function getClientBucket(headers: HeaderReader, settings: ClientAddressSettings): string {
  return clientBucket(getClientIp(headers, settings.trustedProxies), settings.ipv6Prefix);
}

/** The client's address, normalised, or "unknown" when it cannot be known. */
export function getClientIp(headers: HeaderReader, trustedProxies: number): string {
  const peer = headers.get(PEER_HEADER);
  if (peer === null) {
    // Next's own X-Forwarded-For: the client's, when a client sent one. Only trusted proxies'
    // entries count, and without the peer the nearest proxy's own address is not in the chain.
    if (trustedProxies === 0) return UNKNOWN_CLIENT;
    return pick(splitChain(headers.get("x-forwarded-for")), trustedProxies - 1);
  }
  return pick([...splitChain(headers.get(FORWARDED_FOR_HEADER)), peer], trustedProxies);
}

/** Whether the request came through scripts/serve-web.mjs (it always sets the peer header). */
export function hasPeerAddress(headers: HeaderReader): boolean {
  return headers.get(PEER_HEADER) !== null;
}

/** The entry `hops` from the right; a chain shorter than that yields its first entry. */
function pick(chain: string[], hops: number): string {
  const candidate = chain[chain.length - 1 - hops] ?? chain[0];
  return (candidate && normalizeIp(candidate)) || UNKNOWN_CLIENT;
}

function splitChain(value: string | null): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Strips brackets, ports, zone ids and the IPv4-mapped prefix; null when it is not an IP. */
export function normalizeIp(value: string): string | null {
  let v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed?.[1]) v = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  v = v.replace(/%.*$/, "");
  if (!net.isIP(v)) return null;
  const address = ipaddr.parse(v);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address().toString();
  return address.toString();
}

/**
 * The limits' bucket of a normalised address: an IPv4 address as it is, an IPv6 address as its
 * network of `ipv6Prefix` bits ("2001:db8:1:2::/64"), anything else as "unknown".
 */
export function clientBucket(ip: string, ipv6Prefix: number): string {
  const normal = normalizeIp(ip);
  if (normal === null) return UNKNOWN_CLIENT;
  if (net.isIPv4(normal)) return normal;
  const network = ipaddr.parse(normal).toByteArray().map((byte, i) => byte & prefixMask(ipv6Prefix, i));
  return `${ipaddr.fromByteArray(network).toString()}/${ipv6Prefix}`;
}

/** The bits of byte `index` inside a prefix of `bits` bits. */
function prefixMask(bits: number, index: number): number {
  const kept = Math.min(8, Math.max(0, bits - index * 8));
  return (0xff << (8 - kept)) & 0xff;
}

export function hashClientIp(ip: string, secret: string): string {
  return createHmac("sha256", secret).update(ip).digest("base64url");
}
