/**
 * What the check functions need: the database, Redis, the queue, the rate limiters and the
 * settings. Route handlers and React Server Components use the process-wide default (built
 * from lib/env.ts on first use); tests and the worker build their own with `createCheckServices`.
 */
import type { Env } from "@/lib/env";
import { getEnv } from "@/lib/env";
import { createDb, type Db, type DbOptions } from "@/lib/db/create-db";
import { createRedis, type RedisClient } from "@/lib/queue/create-redis";
import { redisKeysOf, type RedisKeys } from "@/lib/queue/redis-keys";
import { createCheckQueue, type CheckQueue } from "@/lib/queue/create-check-queue";
import { createLimiters, type Limiters } from "@/lib/rate-limit/create-limiters";
import { createLogger, type Logger } from "@/lib/logger";

export interface CheckSettings {
  /**
   * Prefix of the live streams' keys (REDIS_PREFIX; on a Redis Cluster with a hash tag:
   * lib/queue/redis-keys.ts).
   */
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
  /** Request-path Redis connection (fails fast): one server or a cluster. */
  redis: RedisClient;
  /** Where each group of keys lives (hash-tagged on a cluster). */
  keys: RedisKeys;
  queue: CheckQueue;
  limiters: Limiters;
  settings: CheckSettings;
  log: Logger;
}

export function settingsFromEnv(env: Env): CheckSettings {
  return {
    redisPrefix: redisKeysOfEnv(env).streams,
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

/** The key groups of this deployment: REDIS_PREFIX, hash-tagged where a cluster needs it. */
export function redisKeysOfEnv(env: Env): RedisKeys {
  return redisKeysOf(env.REDIS_PREFIX, env.REDIS_CLUSTER_NODES.length > 0);
}

/** `options.db`: the pool's size and waits (the worker's: worker/main.ts); default 10 connections. */
export function createCheckServices(env: Env, name = "web", options: { db?: Omit<DbOptions, "url"> } = {}): CheckServices {
  const log = createLogger({ level: env.LOG_LEVEL, name });
  const redis = createRedis({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, role: "request", name: `relaycheck-${name}`, commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, log });
  const keys = redisKeysOfEnv(env);
  return {
    db: createDb({ url: env.DATABASE_URL, ...options.db }),
    redis,
    keys,
    queue: createCheckQueue(redis, { prefix: keys.queue, name: env.QUEUE_NAME }),
    limiters: createLimiters(redis, {
      keyPrefix: keys.rateLimits,
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
