/** Optional API keys of monitoring users: higher limits, counted per key. */
export { authenticateApiKey, type ApiKeyIdentity } from "./authenticate-api-key";
export { createApiKey, revokeApiKey, listApiKeys, type ApiKeyRecord, type ApiKeyLimits } from "./manage-api-keys";
export { hashApiKey, API_KEY_PATTERN } from "./api-key-token";
