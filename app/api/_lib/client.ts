import { getCheckServices } from "@/lib/checks";
import { authenticateApiKey } from "@/lib/api-keys";
import { getClientIp, hashClientIp } from "@/lib/security/client-ip";

export interface Requester {
  /** The client's IP (for createCheck, which hashes it before storing). */
  ip: string;
  /** RateLimit-* headers of the limit this request counted against. */
  limit: Record<string, string>;
  /** The bucket it counted in (`key:<id>`, or the hashed client address): who "this client" is. */
  key: string;
}

/**
 * Who is asking, and one point of their limit: per API key when the request carries one
 * (`Authorization: Bearer rk_…`; a bad or revoked key is a 401), else per client IP (hashed).
 * `kind`: "checks" for creating a check, "reads" for everything else.
 */
export async function limitRequest(request: Request, kind: "checks" | "reads"): Promise<Requester> {
  const { settings, limiters, db } = getCheckServices();
  const ip = getClientIp(request.headers, settings.trustedProxies);
  const apiKey = await authenticateApiKey(request.headers.get("authorization"), db);
  if (apiKey) {
    const limiter = kind === "checks" ? limiters.keyChecks(apiKey.checkPoints) : limiters.keyReads(apiKey.readsPerMinute);
    return { ip, limit: await limiter.consume(apiKey.id), key: `key:${apiKey.id}` };
  }
  const limiter = kind === "checks" ? limiters.clientChecks : limiters.clientReads;
  const key = hashClientIp(ip, settings.ipHashSecret);
  return { ip, limit: await limiter.consume(key), key };
}
