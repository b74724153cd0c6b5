/**
 * Redis connections (ioredis). BullMQ workers and blocking reads need
 * `maxRetriesPerRequest: null`; request-path clients fail fast instead, so that a Redis outage
 * turns into a clear 503 rather than a hung request.
 */
import { Redis } from "ioredis";

export type { Redis };

export interface RedisConnectionOptions {
  url: string;
  /** "blocking": BullMQ workers, XREAD BLOCK; "request": web requests (fail fast). */
  role: "blocking" | "request";
  name?: string;
}

export function createRedis(options: RedisConnectionOptions): Redis {
  const failFast = options.role === "request";
  const redis = new Redis(options.url, {
    connectionName: options.name,
    maxRetriesPerRequest: failFast ? 1 : null,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    // Back off up to 2 s between reconnects, forever: a restarted Redis is picked up again.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  });
  // Errors surface on the commands; without a listener ioredis would log each one itself.
  redis.on("error", () => {});
  return redis;
}
