/**
 * What the check functions need: the database, Redis, the queue, the rate limiters and the
 * settings. Route handlers and React Server Components use the process-wide default (built
 * from lib/env.ts on first use); tests and the worker build their own with `createCheckServices`.
 */
import type { Env } from "@/lib/env";
import { getEnv } from "@/lib/env";
import { createDb, type Db } from "@/lib/db/create-db";
import { createRedis, type Redis } from "@/lib/queue/create-redis";
import { createCheckQueue, type CheckQueue } from "@/lib/queue/create-check-queue";
import { createLimiters, type Limiters } from "@/lib/rate-limit/create-limiters";
import { createLogger, type Logger } from "@/lib/logger";

export interface CheckSettings {
  /** Prefix of the service's Redis keys. */
  redisPrefix: string;
  reuseWindowMs: number;
  freshCooldownMs: number;
  /** CIDR ranges allowed although not public (RELAYCHECK_ALLOW_TARGETS, parsed). */
  allowTargets: string[];
  extraPorts: number[];
  allowReservedNames: boolean;
  ipHashSecret: string;
  trustedProxies: number;
  /** IPv6 clients count per network of this many bits (RATE_LIMIT_IPV6_PREFIX). */
  ipv6Prefix: number;
  streamMaxLen: number;
  streamTtlSeconds: number;
  keepAliveMs: number;
  /** Longest a check may run once a worker starts it (CHECK_TIMEOUT_MS). */
  checkTimeoutMs: number;
  /** Longest a check may wait in the queue (CHECK_QUEUE_TIMEOUT_MS). */
  queueTimeoutMs: number;
  /** A queued or running check whose job is missing this long is re-enqueued or failed. */
  reconcileGraceMs: number;
  /** Live event streams (SSE): see the SSE_* variables in lib/env.ts. */
  sseMaxLifetimeMs: number;
  sseMaxStreamsPerClient: number;
  sseMaxStreams: number;
  sseStatusPollMs: number;
  /** Who may ask for a proof by delivery: "off" when no sink domain is set (RELAYCHECK_DELIVERY_PROOF). */
  deliveryProof?: "off" | "api-key" | "everyone";
}

export interface CheckServices {
  db: Db;
  /** Request-path Redis connection (fails fast). */
  redis: Redis;
  queue: CheckQueue;
  limiters: Limiters;
  settings: CheckSettings;
  log: Logger;
}

export function settingsFromEnv(env: Env): CheckSettings {
  return {
    redisPrefix: env.REDIS_PREFIX,
    reuseWindowMs: env.CHECK_REUSE_WINDOW_SECONDS * 1000,
    freshCooldownMs: env.CHECK_FRESH_COOLDOWN_SECONDS * 1000,
    allowTargets: env.RELAYCHECK_ALLOW_TARGETS,
    extraPorts: env.RELAYCHECK_EXTRA_PORTS,
    allowReservedNames: env.RELAYCHECK_ALLOW_RESERVED_NAMES,
    ipHashSecret: env.IP_HASH_SECRET,
    trustedProxies: env.TRUST_PROXY,
    ipv6Prefix: env.RATE_LIMIT_IPV6_PREFIX,
    streamMaxLen: env.STREAM_MAXLEN,
    streamTtlSeconds: env.STREAM_TTL_SECONDS,
    keepAliveMs: env.SSE_KEEPALIVE_SECONDS * 1000,
    checkTimeoutMs: env.CHECK_TIMEOUT_MS,
    queueTimeoutMs: env.CHECK_QUEUE_TIMEOUT_MS,
    reconcileGraceMs: env.RECONCILE_GRACE_MS,
    sseMaxLifetimeMs: env.SSE_MAX_LIFETIME_SECONDS * 1000,
    sseMaxStreamsPerClient: env.SSE_MAX_STREAMS_PER_CLIENT,
    sseMaxStreams: env.SSE_MAX_STREAMS,
    sseStatusPollMs: env.SSE_STATUS_POLL_MS,
    deliveryProof: env.RELAYCHECK_SINK_DOMAIN ? env.RELAYCHECK_DELIVERY_PROOF : "off",
  };
}

export function createCheckServices(env: Env, name = "web"): CheckServices {
  const log = createLogger({ level: env.LOG_LEVEL, name });
  const redis = createRedis({ url: env.REDIS_URL, role: "request", name: `relaycheck-${name}`, commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, log });
  return {
    db: createDb({ url: env.DATABASE_URL }),
    redis,
    queue: createCheckQueue(redis, { prefix: env.REDIS_PREFIX, name: env.QUEUE_NAME }),
    limiters: createLimiters(redis, {
      keyPrefix: `${env.REDIS_PREFIX}:rl`,
      clientPoints: env.RATE_LIMIT_CLIENT_POINTS,
      clientWindowSeconds: env.RATE_LIMIT_CLIENT_WINDOW_SECONDS,
      targetPoints: env.RATE_LIMIT_TARGET_POINTS,
      targetWindowSeconds: env.RATE_LIMIT_TARGET_WINDOW_SECONDS,
      readsPerMinute: env.RATE_LIMIT_READS_PER_MINUTE,
      keyPoints: env.RATE_LIMIT_KEY_POINTS,
      keyWindowSeconds: env.RATE_LIMIT_KEY_WINDOW_SECONDS,
      keyReadsPerMinute: env.RATE_LIMIT_KEY_READS_PER_MINUTE,
      serverPoints: env.RATE_LIMIT_SERVER_POINTS,
      serverWindowSeconds: env.RATE_LIMIT_SERVER_WINDOW_SECONDS,
    }),
    settings: settingsFromEnv(env),
    log,
  };
}

export async function closeCheckServices(services: CheckServices): Promise<void> {
  await services.queue.close().catch(() => {});
  services.redis.disconnect();
  await services.db.$disconnect().catch(() => {});
}

// Kept on globalThis so that Next's module reloading in development does not open a new pool
// per reload.
const holder = globalThis as typeof globalThis & { __relaycheckServices?: CheckServices };

/** The process-wide services, created from the environment on first use. */
export function getCheckServices(): CheckServices {
  holder.__relaycheckServices ??= createCheckServices(getEnv());
  return holder.__relaycheckServices;
}
