import { getCheckServices } from "@/lib/checks";
import { authenticateApiKey } from "@/lib/api-keys";
import type { Logger } from "@/lib/logger";
import { getClientBucket, hasPeerAddress, hashClientIp, PEER_HEADER } from "@/lib/security/client-ip";

export interface Requester {
  /**
   * The client's bucket (lib/security/client-ip.ts): its IPv4 address, its IPv6 network
   * ("2001:db8:1:2::/64") or "unknown". createCheck hashes it before storing, so the hash kept
   * with a check is the key its limits counted on.
   */
  ip: string;
  /** RateLimit-* headers of the limit this request counted against. */
  limit: Record<string, string>;
  /** The bucket it counted in (`key:<id>`, or the hashed client address): who "this client" is. */
  key: string;
}

/**
 * Who is asking, and one point of their limit: per API key when the request carries one
 * (`Authorization: Bearer rk_…`; a bad or revoked key is a 401), else per client bucket (hashed).
 * `kind`: "checks" for creating a check, "reads" for everything else.
 */
export async function limitRequest(request: Request, kind: "checks" | "reads"): Promise<Requester> {
  const { settings, limiters, db, log } = getCheckServices();
  if (!hasPeerAddress(request.headers)) warnWithoutPeer(log, settings.trustedProxies);
  const ip = getClientBucket(request.headers, settings);
  const apiKey = await authenticateApiKey(request.headers.get("authorization"), db);
  if (apiKey) {
    const limiter = kind === "checks" ? limiters.keyChecks(apiKey.checkPoints) : limiters.keyReads(apiKey.readsPerMinute);
    return { ip, limit: await limiter.consume(apiKey.id), key: `key:${apiKey.id}` };
  }
  const limiter = kind === "checks" ? limiters.clientChecks : limiters.clientReads;
  const key = hashClientIp(ip, settings.ipHashSecret);
  return { ip, limit: await limiter.consume(key), key };
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
