import { getCheckServices } from "@/lib/checks";
import { authenticateApiKey } from "@/lib/api-keys";
import type { Logger } from "@/lib/logger";
import { getClientBucket, hasPeerAddress, hashClientIp, PEER_HEADER, type HeaderReader } from "@/lib/security/client-ip";

export interface Requester {
  /**
   * The client's bucket (lib/security/client-ip.ts): its IPv4 address, its IPv6 network
   * ("2001:db8:1:2::/64") or "unknown". createCheck hashes it before storing, so the hash kept
   * with a check is the key its limits counted on.
   */
  ip: string;
  /** RateLimit-* headers of the request limit this request counted against. */
  limit: Record<string, string>;
  /** The bucket it counted in (`key:<id>`, or the hashed client address): who "this client" is. */
  key: string;
  /**
   * Takes one point of the client's (or its API key's) check limit and returns its RateLimit-*
   * headers, or throws "rate_limited". Only for a new probe: createCheck calls it once it knows
   * the request will start one, so typos and reused reports cost no check point.
   */
  consumeCheckPoint(): Promise<Record<string, string>>;
  /** The check limit's RateLimit-* headers without taking a point (for an answer that took none). */
  peekCheckPoints(): Promise<Record<string, string>>;
}

/**
 * Who is asking, and one point of their request limit: per API key when the request carries one
 * (`Authorization: Bearer rk_…`; a bad or revoked key is a 401), else per client bucket (hashed).
 * Every request, reads and POST /api/v1/checks alike, counts against the request limit
 * (RATE_LIMIT_READS_PER_MINUTE, or the key's); the check limit (RATE_LIMIT_CLIENT_POINTS, or the
 * key's) is taken apart, through `consumeCheckPoint`, only for a new probe (`_kind`, "checks"
 * for POST /api/v1/checks and "reads" for the rest, only names the request at the call site).
 */
export async function limitRequest(request: { headers: HeaderReader }, _kind: "checks" | "reads"): Promise<Requester> {
  const { settings, limiters, db, log } = getCheckServices();
  if (!hasPeerAddress(request.headers)) warnWithoutPeer(log, settings.trustedProxies);
  const ip = getClientBucket(request.headers, settings);
  const apiKey = await authenticateApiKey(request.headers.get("authorization"), db);
  const bucket = apiKey ? apiKey.id : hashClientIp(ip, settings.ipHashSecret);
  const requests = apiKey ? limiters.keyReads(apiKey.readsPerMinute) : limiters.clientReads;
  const checks = apiKey ? limiters.keyChecks(apiKey.checkPoints) : limiters.clientChecks;
  return {
    ip,
    limit: await requests.consume(bucket),
    key: apiKey ? `key:${apiKey.id}` : bucket,
    consumeCheckPoint: () => checks.consume(bucket),
    peekCheckPoints: () => checks.peek(bucket),
  };
}

// Once per process (on globalThis: Next may load this module once per route).
const holder = globalThis as typeof globalThis & { __relaycheckWarnedWithoutPeer?: boolean };

/** The server runs without scripts/serve-web.mjs: say once what that costs. */
function warnWithoutPeer(log: Logger, trustedProxies: number): void {
  if (holder.__relaycheckWarnedWithoutPeer) return;
  holder.__relaycheckWarnedWithoutPeer = true;
  log.warn(
    { header: PEER_HEADER, trustedProxies },
    trustedProxies === 0
      ? "requests arrive without the peer address header (the web server is not scripts/serve-web.mjs): every client without a trusted proxy shares one rate-limit bucket"
      : "requests arrive without the peer address header (the web server is not scripts/serve-web.mjs): clients are told apart by X-Forwarded-For only, as far as TRUST_PROXY allows",
  );
}
