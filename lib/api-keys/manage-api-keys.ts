/**
 * The operator's side of API keys, without a UI: `npm run apikey -- create|revoke|list`
 * (scripts/apikey.ts) calls these, and so do the tests.
 */
import type { Db } from "@/lib/db/create-db";
import { hashApiKey, newApiKey, newApiKeyId } from "./api-key-token";

export interface ApiKeyLimits {
  /** New checks per RATE_LIMIT_KEY_WINDOW_SECONDS (default RATE_LIMIT_KEY_POINTS). */
  checkPoints?: number | null;
  /** API reads per minute (default RATE_LIMIT_KEY_READS_PER_MINUTE). */
  readsPerMinute?: number | null;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  checkPoints: number | null;
  readsPerMinute: number | null;
}

const PUBLIC_FIELDS = { id: true, name: true, createdAt: true, lastUsedAt: true, revokedAt: true, checkPoints: true, readsPerMinute: true } as const;

/** Makes a key; the returned `key` is the only time it exists outside the client's hands. */
export async function createApiKey(db: Db, name: string, limits: ApiKeyLimits = {}): Promise<{ key: string; record: ApiKeyRecord }> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw new Error("The key needs a name of 1 to 200 characters.");
  const key = newApiKey();
  const record = await db.apiKey.create({
    data: {
      id: newApiKeyId(),
      name: trimmed,
      keyHash: hashApiKey(key),
      checkPoints: limits.checkPoints ?? null,
      readsPerMinute: limits.readsPerMinute ?? null,
    },
    select: PUBLIC_FIELDS,
  });
  return { key, record };
}

/** Revokes a key at once (requests with it get 401); false when there is no such key. */
export async function revokeApiKey(db: Db, id: string): Promise<boolean> {
  const { count } = await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count > 0) return true;
  return (await db.apiKey.count({ where: { id } })) > 0;
}

export async function listApiKeys(db: Db): Promise<ApiKeyRecord[]> {
  return db.apiKey.findMany({ select: PUBLIC_FIELDS, orderBy: { createdAt: "asc" } });
}
