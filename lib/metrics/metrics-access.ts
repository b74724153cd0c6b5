/**
 * Who may read /metrics: clients on loopback (a Prometheus or an agent on the same host), and
 * anyone else only with `Authorization: Bearer <METRICS_TOKEN>`; without a token set, nobody else.
 *
 * A request counts as from loopback only when its peer is a loopback address and it carries no
 * X-Forwarded-For: behind a reverse proxy on the same host every request arrives from loopback,
 * and the proxy's clients must not be waved through.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import ipaddr from "ipaddr.js";

export interface MetricsRequest {
  /** The socket's peer address ("" or null when unknown: not loopback). */
  peer: string | null;
  /** Whether the request came through a proxy (it carries X-Forwarded-For). */
  forwarded: boolean;
  authorization: string | null;
}

export function isLoopbackAddress(ip: string | null): boolean {
  if (!ip || !ipaddr.isValid(ip)) return false;
  return ipaddr.process(ip).range() === "loopback";
}

export function mayReadMetrics(request: MetricsRequest, token: string | undefined): boolean {
  if (!request.forwarded && isLoopbackAddress(request.peer)) return true;
  if (!token) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization?.trim() ?? "");
  if (!match) return false;
  // Equal-length digests: the comparison takes the same time whatever was sent.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

export const METRICS_DENIED_HEADERS = { "WWW-Authenticate": 'Bearer realm="relaycheck metrics"', "Cache-Control": "no-store" };
export const METRICS_DENIED_TEXT = "/metrics is open to loopback clients, and to others with Authorization: Bearer <METRICS_TOKEN>.\n";
