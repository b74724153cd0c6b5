import { getCheckServices } from "@/lib/checks";
import { authenticateApiKey, type ApiKeyIdentity } from "@/lib/api-keys";
import { AppError } from "@/lib/errors";

export interface KeyHolder {
  key: ApiKeyIdentity;
  /** RateLimit-* headers of the key's limit this request counted against. */
  limit: Record<string, string>;
}

/**
 * Monitors belong to API keys: a request without a key is a 401 like one with a bad key. Takes one
 * point of the key's limit: `reads` for looking and managing, `checks` for what sends something
 * out (a test alert).
 */
export async function requireApiKey(request: Request, kind: "reads" | "checks" = "reads"): Promise<KeyHolder> {
  const { db, limiters } = getCheckServices();
  const key = await authenticateApiKey(request.headers.get("authorization"), db);
  if (!key) {
    throw new AppError("invalid_api_key", 'Monitors belong to API keys: send "Authorization: Bearer rk_…" with your key.', { "WWW-Authenticate": 'Bearer realm="relaycheck"' });
  }
  const limiter = kind === "checks" ? limiters.keyChecks(key.checkPoints) : limiters.keyReads(key.readsPerMinute);
  return { key, limit: await limiter.consume(key.id) };
}
