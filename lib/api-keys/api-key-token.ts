/**
 * API keys as the client sees them: "rk_" and 32 random bytes in base64url. The database keeps
 * only the hex SHA-256 of the whole key: a leaked table gives no usable key, and the key has
 * enough entropy that no salt or slow hash is needed.
 */
import { createHash, randomBytes } from "node:crypto";

export const API_KEY_PREFIX = "rk_";
export const API_KEY_PATTERN = /^rk_[A-Za-z0-9_-]{43}$/;

export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString("base64url");
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Public id of a key record (not secret: shown by `list`, taken by `revoke`). */
export function newApiKeyId(): string {
  return randomBytes(9).toString("base64url");
}
