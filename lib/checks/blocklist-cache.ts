/**
 * The probe engine's blocklist cache over Redis: one key per subject and set of lists, kept for
 * RELAYCHECK_DNSBL_CACHE_SECONDS, so a popular server is not asked about on every check (and the
 * lists' fair-use limits hold). What comes back is parsed with zod: a damaged or foreign entry is
 * a miss, never a report field. Failures propagate to the engine, which counts them as misses.
 */
import { z } from "zod";
import type { BlocklistCache, BlocklistLookup } from "@/lib/probe/types";
import type { RedisClient } from "@/lib/queue/create-redis";
import { blocklistLookupSchema } from "./report-schema";

const lookupSchema = blocklistLookupSchema satisfies z.ZodType<BlocklistLookup>;

/** `ttlMs`: the operator's time to live (RELAYCHECK_DNSBL_CACHE_SECONDS), else the engine's. */
export function createBlocklistCache(redis: Pick<RedisClient, "get" | "set">, options: { prefix: string; ttlMs?: number }): BlocklistCache {
  return {
    async get(key) {
      const raw = await redis.get(`${options.prefix}:${key}`);
      if (raw === null) return null;
      try {
        const parsed = lookupSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : null;
      } catch {
        return null;
      }
    },
    async set(key, value, ttlMs) {
      await redis.set(`${options.prefix}:${key}`, JSON.stringify(value), "PX", Math.max(1, Math.round(options.ttlMs ?? ttlMs)));
    },
  };
}
