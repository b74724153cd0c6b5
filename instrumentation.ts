/**
 * Runs once when the web server starts: parse the environment now, so that a bad variable stops
 * the server with its name instead of failing the first request; then keep the periodic jobs'
 * schedulers in Redis, the monitors' among them (the web re-creates them too, so a wiped Redis
 * gets them back even while no worker restarts: lib/queue/keep-schedulers.ts).
 *
 * It also installs the node-level handlers that scripts/serve-web.mjs uses instead of the Next
 * routes: live event streams (app/api/_lib/serve-events-node.ts: far less memory per viewer)
 * and a check as JSON (app/api/_lib/serve-check-node.ts: a finished report served from memory
 * without Next's per-request machinery), and the finished reports' pages kept whole for a few
 * seconds (app/_lib/report-page-cache.ts).
 *
 * The schedulers get a queue and connection of their own: this file is bundled apart from the
 * route handlers, and sharing their services object from here would mix two copies of our
 * modules (an AppError from one would not be an AppError to the other).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs" && process.env.NEXT_PHASE !== "phase-production-build") {
    const { getEnvOrExit } = await import("@/lib/env");
    const env = getEnvOrExit();
    const { createRedis } = await import("@/lib/queue/create-redis");
    const { createCheckQueue } = await import("@/lib/queue/create-check-queue");
    const { keepSchedulers } = await import("@/lib/queue/keep-schedulers");
    const { createLogger } = await import("@/lib/logger");
    const { createDb } = await import("@/lib/db/create-db");
    const { monitorSchedulersKeeper } = await import("@/lib/monitors/keep-monitor-schedulers");
    const log = createLogger({ level: env.LOG_LEVEL, name: "web" });
    const { serveCheckEventsNode } = await import("@/app/api/_lib/serve-events-node");
    const { serveCheckNode } = await import("@/app/api/_lib/serve-check-node");
    const { serveReportPageNode } = await import("@/app/_lib/report-page-cache");
    Object.assign(globalThis, { __relaycheckServeEvents: serveCheckEventsNode, __relaycheckServeCheck: serveCheckNode, __relaycheckServeReportPage: serveReportPageNode });
    const { redisKeysOf } = await import("@/lib/queue/redis-keys");
    const redis = createRedis({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, role: "request", name: "relaycheck-web-schedulers", commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS, log });
    // The monitors' schedulers are re-created from PostgreSQL (a small pool of its own).
    const db = createDb({ url: env.DATABASE_URL, maxConnections: 2 });
    keepSchedulers(
      createCheckQueue(redis, { prefix: redisKeysOf(env.REDIS_PREFIX, env.REDIS_CLUSTER_NODES.length > 0).queue, name: env.QUEUE_NAME }),
      { reconcileEveryMs: env.RECONCILE_EVERY_MS, more: monitorSchedulersKeeper(db, env.RECONCILE_EVERY_MS) },
      log,
    );
  }
}
