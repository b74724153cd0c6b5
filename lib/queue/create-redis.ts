/**
 * Redis connections (ioredis): one Redis server (REDIS_URL), or a Redis Cluster
 * (REDIS_CLUSTER_NODES, see lib/queue/redis-keys.ts for where each key lives on it). BullMQ
 * workers and blocking reads need `maxRetriesPerRequest: null`; request-path clients fail fast
 * instead, so that a Redis outage turns into a clear 503 rather than a hung request: one retry,
 * and a command timeout, because a frozen Redis (SIGSTOP, a stuck host) keeps its TCP connection
 * open and would otherwise never answer nor fail.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "@/lib/logger";

export type { Redis, Cluster };

/** A connection to one Redis server or to a Redis Cluster: the commands we use work on both. */
export type RedisClient = Redis | Cluster;

/** A request-path command that Redis has not answered within this fails (then: 503). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;

export interface RedisConnectionOptions {
  url: string;
  /**
   * Seed nodes of a Redis Cluster (`host:port` or `redis://[user:password@]host:port`); when
   * given, `url` is not used and the connection is a cluster client.
   */
  clusterNodes?: readonly string[];
  /** "blocking": BullMQ workers, XREAD BLOCK; "request": web requests and writes (fail fast). */
  role: "blocking" | "request";
  name?: string;
  /** Request role only: per-command timeout (REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
  /** Where an outage and the recovery are logged (once each, not per failed command). */
  log?: Logger;
}

// Back off up to 2 s between reconnects, forever: a restarted Redis is picked up again.
const retryStrategy = (times: number) => Math.min(times * 100, 2000);

export function createRedis(options: RedisConnectionOptions): RedisClient {
  const failFast = options.role === "request";
  const common: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(failFast ? { commandTimeout: options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS } : {}),
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy,
    lazyConnect: false,
  };
  const redis = options.clusterNodes?.length ? createCluster(options.clusterNodes, common) : new Redis(options.url, common);
  watchRedis(redis, options.name ?? options.role, options.log);
  return redis;
}

function createCluster(nodes: readonly string[], redisOptions: RedisOptions): Cluster {
  const seeds = nodes.map(parseClusterNode);
  const auth = seeds.find((s) => s.password !== undefined);
  return new Cluster(
    seeds.map(({ host, port }) => ({ host, port })),
    {
      // Every command goes to the master of its slot (reads included: live streams must not lag).
      scaleReads: "master",
      enableOfflineQueue: true,
      clusterRetryStrategy: retryStrategy,
      // A failover or a resharding answers MOVED/TRYAGAIN/CLUSTERDOWN for a moment: retry, don't fail.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      redisOptions: {
        ...redisOptions,
        ...(auth ? { username: auth.username, password: auth.password } : {}),
        ...(seeds.some((s) => s.tls) ? { tls: {} } : {}),
      },
    },
  );
}

interface ClusterSeed {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** "host:port", "[v6]:port" or "redis[s]://[user:password@]host:port" → a seed; throws on anything else. */
export function parseClusterNode(node: string): ClusterSeed {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(node) ? node : `redis://${node}`);
  } catch {
    throw new Error(`expected host:port or redis://host:port, got "${node}"`);
  }
  const port = Number(url.port || 6379);
  if (!/^rediss?:$/.test(url.protocol) || !url.hostname || !Number.isInteger(port) || port < 1 || port > 65535 || (url.pathname !== "" && url.pathname !== "/")) {
    throw new Error(`expected host:port or redis://host:port, got "${node}"`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    tls: url.protocol === "rediss:",
  };
}

/**
 * The plain connection that serves `key`: the server itself, or on a cluster the master node that
 * holds the key's slot now (commands that are not about a key, such as CLIENT ID and CLIENT
 * UNBLOCK, must reach that node). Null while a cluster does not know its slots yet.
 */
export async function nodeOfKey(redis: RedisClient, key: string): Promise<Redis | null> {
  if (!(redis instanceof Cluster)) return redis;
  const slot = Number(await redis.cluster("KEYSLOT", key));
  const address = redis.slots[slot]?.[0];
  return redis.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === address) ?? null;
}

/** Another connection like `redis` (same server or cluster), with some options changed. */
export function duplicateRedis(redis: RedisClient, override: Partial<RedisOptions>): RedisClient {
  if (!(redis instanceof Cluster)) return redis.duplicate(override);
  return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, ...override } });
}

/**
 * Logs a connection's outage once when it starts and once when it ends (ioredis emits `error`
 * on every failed reconnect: without a listener it would print each one itself).
 */
export function watchRedis(redis: RedisClient, name: string, log?: Logger): void {
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
