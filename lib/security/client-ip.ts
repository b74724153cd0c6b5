/**
 * Who is asking. Next's request object carries no socket address, so the web server
 * (scripts/serve-web.mjs) puts two headers of its own on every request, replacing any copy the
 * client sent: the socket's peer address, and the X-Forwarded-For it received.
 * X-Forwarded-For counts only when the operator says proxies are in front (TRUST_PROXY = n):
 * each trusted proxy appends the address it saw, so the client is the n-th entry from the right
 * of the chain "forwarded-for…, peer".
 *
 * The address is kept only as a keyed hash (HMAC-SHA256 under IP_HASH_SECRET): it keys the rate
 * limits and is stored with a check until the rate-limit window ends.
 */
import { createHmac } from "node:crypto";
import net from "node:net";

export const PEER_HEADER = "x-relaycheck-peer";
export const FORWARDED_FOR_HEADER = "x-relaycheck-forwarded-for";
export const UNKNOWN_CLIENT = "unknown";

export function getClientIp(headers: Headers, trustedProxies: number): string {
  const peer = headers.get(PEER_HEADER);
  // Without serve-web (`next dev`), Next's own X-Forwarded-For (the client's, or the socket's).
  const forwarded = peer === null ? headers.get("x-forwarded-for") : headers.get(FORWARDED_FOR_HEADER);
  const chain = (forwarded ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (peer !== null) chain.push(peer);
  const hops = peer === null ? Math.max(0, trustedProxies - 1) : trustedProxies;
  const candidate = chain[chain.length - 1 - hops] ?? chain[0];
  return (candidate && normalizeIp(candidate)) || UNKNOWN_CLIENT;
}

/** Strips brackets, ports and the IPv4-mapped prefix; null when it is not an IP. */
export function normalizeIp(value: string): string | null {
  let v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed?.[1]) v = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  if (v.toLowerCase().startsWith("::ffff:") && net.isIPv4(v.slice(7))) v = v.slice(7);
  return net.isIP(v) ? v.toLowerCase() : null;
}

export function hashClientIp(ip: string, secret: string): string {
  return createHmac("sha256", secret).update(ip).digest("base64url");
}
