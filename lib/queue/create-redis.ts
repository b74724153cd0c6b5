/**
 * Redis connections (ioredis). BullMQ workers and blocking reads need
 * `maxRetriesPerRequest: null`; request-path clients fail fast instead, so that a Redis outage
 * turns into a clear 503 rather than a hung request: one retry, and a command timeout, because a
 * frozen Redis (SIGSTOP, a stuck host) keeps its TCP connection open and would otherwise never
 * answer nor fail.
 */
import { Redis } from "ioredis";
import type { Logger } from "@/lib/logger";

export type { Redis };

/** A request-path command that Redis has not answered within this fails (then: 503). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;

export interface RedisConnectionOptions {
  url: string;
  /** "blocking": BullMQ workers, XREAD BLOCK; "request": web requests and writes (fail fast). */
  role: "blocking" | "request";
  name?: string;
  /** Request role only: per-command timeout (REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
  /** Where an outage and the recovery are logged (once each, not per failed command). */
  log?: Logger;
}

export function createRedis(options: RedisConnectionOptions): Redis {
  const failFast = options.role === "request";
  const redis = new Redis(options.url, {
    connectionName: options.name,
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(failFast ? { commandTimeout: options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS } : {}),
    enableOfflineQueue: true,
    connectTimeout: 5000,
    // Back off up to 2 s between reconnects, forever: a restarted Redis is picked up again.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  });
  watchRedis(redis, options.name ?? options.role, options.log);
  return redis;
}

/**
 * Logs a connection's outage once when it starts and once when it ends (ioredis emits `error`
 * on every failed reconnect: without a listener it would print each one itself).
 */
export function watchRedis(redis: Redis, name: string, log?: Logger): void {
  let down = false;
  redis.on("error", (err: Error) => {
    if (down) return;
    down = true;
    log?.error({ redis: name, err: { message: err.message, code: (err as { code?: string }).code } }, "Redis connection failed");
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    log?.info({ redis: name }, "Redis connection restored");
  });
}
