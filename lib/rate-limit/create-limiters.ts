/**
 * Abuse limits backed by Redis (rate-limiter-flexible), shared by every web process:
 * - per client (keyed by the HMAC of its IP, never the IP itself): new checks per window;
 * - per target: new probes of one host per window (a reused report costs nothing);
 * - per client: API reads per minute;
 * - per API key, instead of per client, for requests with a key: new checks per window and reads
 *   per minute, each key with the operator's defaults or its own points.
 */
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClient } from "@/lib/queue/create-redis";
import { AppError } from "@/lib/errors";
import { getMetrics } from "@/lib/metrics/metrics";

export interface RateLimitSettings {
  /** Redis key prefix, e.g. "relaycheck:rl". */
  keyPrefix: string;
  clientPoints: number;
  clientWindowSeconds: number;
  targetPoints: number;
  targetWindowSeconds: number;
  readsPerMinute: number;
  keyPoints: number;
  keyWindowSeconds: number;
  keyReadsPerMinute: number;
  /** Probes of one server address (all names and ports that lead to it) per window. */
  serverPoints: number;
  serverWindowSeconds: number;
}

export interface Limiter {
  /** Takes one point for `key`; returns the RateLimit-* headers, or throws AppError "rate_limited". */
  consume(key: string): Promise<Record<string, string>>;
  /** The RateLimit-* headers for `key` without taking a point ({} when Redis cannot say). */
  peek(key: string): Promise<Record<string, string>>;
}

export interface Limiters {
  clientChecks: Limiter;
  targetChecks: Limiter;
  clientReads: Limiter;
  /** Probes of one server address, whichever name or port led to it (keyed by the IP). */
  serverProbes: Limiter;
  /** New checks of one API key (keyed by the key's id); `points` overrides the default. */
  keyChecks(points?: number | null): Limiter;
  /** API reads of one API key per minute; `perMinute` overrides the default. */
  keyReads(perMinute?: number | null): Limiter;
}

export function createLimiters(redis: RedisClient, settings: RateLimitSettings): Limiters {
  const make = (name: string, points: number, duration: number, what: string): Limiter =>
    wrap(new RateLimiterRedis({ storeClient: redis, keyPrefix: `${settings.keyPrefix}:${name}`, points, duration }), points, what, name.replace(/:.*/, ""));
  // One limiter per distinct point count: a key's own limit has its own counters.
  const cache = new Map<string, Limiter>();
  const cached = (name: string, points: number, duration: number, what: string): Limiter => {
    const id = `${name}:${points}`;
    let limiter = cache.get(id);
    if (!limiter) cache.set(id, (limiter = make(id, points, duration, what)));
    return limiter;
  };
  return {
    clientChecks: make("client", settings.clientPoints, settings.clientWindowSeconds, "checks from your address"),
    targetChecks: make("target", settings.targetPoints, settings.targetWindowSeconds, "new checks of this target"),
    clientReads: make("reads", settings.readsPerMinute, 60, "requests from your address"),
    serverProbes: make("server", settings.serverPoints, settings.serverWindowSeconds, "probes of this server address"),
    keyChecks: (points) => cached("key", points ?? settings.keyPoints, settings.keyWindowSeconds, "checks with this API key"),
    keyReads: (perMinute) => cached("key-reads", perMinute ?? settings.keyReadsPerMinute, 60, "requests with this API key"),
  };
}

/** IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), in seconds. */
function headersOf(res: RateLimiterRes, limit: number): Record<string, string> {
  return {
    "RateLimit-Limit": String(limit),
    "RateLimit-Remaining": String(Math.max(0, res.remainingPoints)),
    "RateLimit-Reset": String(Math.ceil(res.msBeforeNext / 1000)),
  };
}

function wrap(limiter: RateLimiterRedis, limit: number, what: string, name: string): Limiter {
  return {
    async consume(key) {
      try {
        return headersOf(await limiter.consume(key), limit);
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) {
          throw new AppError("unavailable", "The service is temporarily unavailable. Please try again shortly.");
        }
        getMetrics().rateLimitRefusals.inc({ limit: name });
        const retryAfter = String(Math.max(1, Math.ceil(e.msBeforeNext / 1000)));
        throw new AppError("rate_limited", `Too many ${what}. Try again in ${retryAfter} s.`, {
          ...headersOf(e, limit),
          "Retry-After": retryAfter,
        });
      }
    },
    async peek(key) {
      try {
        const res = await limiter.get(key);
        return res ? headersOf(res, limit) : { "RateLimit-Limit": String(limit), "RateLimit-Remaining": String(limit), "RateLimit-Reset": "0" };
      } catch {
        return {};
      }
    },
  };
}

/** Of two sets of RateLimit-* headers, the one closer to its limit (what the client should heed). */
export function tighterLimit(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  if (!a["RateLimit-Remaining"]) return b;
  if (!b["RateLimit-Remaining"]) return a;
  return Number(b["RateLimit-Remaining"]) < Number(a["RateLimit-Remaining"]) ? b : a;
}
