/**
 * Who a request's `Authorization` header says it is. No header: anonymous (limits per IP).
 * `Bearer rk_…` of a live key: that key (its own limits, counted per key). Anything else — another
 * scheme, a malformed, unknown or revoked key — is refused with 401 rather than silently served
 * with the anonymous limits, so a monitoring script learns at once that its key is wrong.
 */
import type { Db } from "@/lib/db/create-db";
import { AppError } from "@/lib/errors";
import { API_KEY_PATTERN, hashApiKey } from "./api-key-token";

export interface ApiKeyIdentity {
  id: string;
  checkPoints: number | null;
  readsPerMinute: number | null;
}

/** last_used_at is written at most this often per key (not on every request). */
const LAST_USED_RESOLUTION_MS = 60_000;

const INVALID = (why: string) =>
  new AppError("invalid_api_key", `${why} Send "Authorization: Bearer rk_…" with a valid key, or no Authorization header.`, {
    "WWW-Authenticate": 'Bearer error="invalid_token"',
  });

export async function authenticateApiKey(authorization: string | null, db: Db): Promise<ApiKeyIdentity | null> {
  if (authorization === null || authorization.trim() === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match) throw INVALID("Only Bearer API keys are accepted.");
  const key = match[1]!;
  if (!API_KEY_PATTERN.test(key)) throw INVALID("This is not a relaycheck API key.");
  const found = await db.apiKey.findUnique({
    where: { keyHash: hashApiKey(key) },
    select: { id: true, revokedAt: true, lastUsedAt: true, checkPoints: true, readsPerMinute: true },
  });
  if (!found || found.revokedAt) throw INVALID("This API key is unknown or revoked.");
  const now = Date.now();
  if (!found.lastUsedAt || now - found.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // Bookkeeping only: a failure here must not fail the request.
    await db.apiKey.update({ where: { id: found.id }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
  }
  return { id: found.id, checkPoints: found.checkPoints, readsPerMinute: found.readsPerMinute };
}
