/**
 * The worker process: env → connections → one BullMQ Worker running the job catalogue →
 * graceful shutdown. Stateless: run as many as the load needs (`--scale worker=N`).
 *
 * On SIGTERM/SIGINT the worker stops taking jobs and lets running checks finish; after
 * SHUTDOWN_GRACE_MS it aborts them (the engine then reports what it saw, marked aborted).
 */
import { Worker, UnrecoverableError, type Job } from "bullmq";
import { getEnv, type Env } from "@/lib/env";
import { createCheckServices, closeCheckServices } from "@/lib/checks/services";
import { createRedis } from "@/lib/queue/create-redis";
import { runCheckJob, resumeCheckJob, purgeExpiredJob, reconcileChecksJob, runMonitorJob, deliverAlertJob, sweepMonitorsJob } from "@/lib/queue/jobs";
import { keepSchedulers } from "@/lib/queue/keep-schedulers";
import { reconcileChecks } from "@/lib/checks/reconcile-checks";
import { createRunCheckHandler, fail, FAILED_MESSAGE, type ProbeSettings } from "./run-check";
import { createPurgeExpiredHandler } from "./purge-expired";
import { createResumeCheckHandler } from "./resume-check";
import { createDeliveryResumeHandler, type DeliveryProofDeps } from "./prove-delivery";
import { createRecheck } from "./recheck";
import { createServerSlots } from "@/lib/concurrency/server-slots";
import { createBlocklistCache } from "@/lib/checks/blocklist-cache";
import type { BlocklistCache, ProbeEvent } from "@/lib/probe";
import { monitorSchedulersKeeper, monitorSettingsFromEnv, settleRunsOfCheck, type MonitorServices } from "@/lib/monitors";
import { getMetrics } from "@/lib/metrics/metrics";
import { collectServiceMetrics } from "@/lib/metrics/collect-service-metrics";
import { observeCheckEvent } from "@/lib/metrics/observe-check-event";
import { createDeliverAlertHandler, createRunMonitorHandler, createSweepMonitorsHandler } from "./monitor-jobs";
import { serveMetrics, type MetricsServer } from "./serve-metrics";
import { adaptConcurrency, LAG_LIMIT_MS, MIN_CONCURRENCY } from "./adapt-concurrency";

const SHUTDOWN_GRACE_MS = 20_000;
/** Longest a worker's query or transaction waits for a pool connection before it is retried. */
const DB_WAIT_MS = 15_000;

function probeSettingsOf(env: Env, blocklistCache?: BlocklistCache): ProbeSettings {
  const timeouts = {
    ...(env.PROBE_CONNECT_TIMEOUT_MS ? { connectMs: env.PROBE_CONNECT_TIMEOUT_MS } : {}),
    ...(env.PROBE_GREETING_TIMEOUT_MS ? { greetingMs: env.PROBE_GREETING_TIMEOUT_MS } : {}),
    ...(env.PROBE_COMMAND_TIMEOUT_MS ? { commandMs: env.PROBE_COMMAND_TIMEOUT_MS } : {}),
    ...(env.PROBE_SERVER_TOTAL_MS ? { serverTotalMs: env.PROBE_SERVER_TOTAL_MS } : {}),
    ...(env.RELAYCHECK_RETRY_PAUSE_MS !== undefined ? { retryPauseMs: env.RELAYCHECK_RETRY_PAUSE_MS } : {}),
    ...(env.RELAYCHECK_RATE_LIMIT_WAIT_MS !== undefined ? { rateLimitWaitMs: env.RELAYCHECK_RATE_LIMIT_WAIT_MS } : {}),
  };
  return {
    base: {
      dnsServers: env.RELAYCHECK_DNS_SERVERS,
      blocklists: { zones: env.RELAYCHECK_DNSBLS, ...(blocklistCache ? { cache: blocklistCache } : {}) },
      ...(env.RELAYCHECK_EHLO_NAME ? { ehloName: env.RELAYCHECK_EHLO_NAME } : {}),
      ...(env.RELAYCHECK_SENDER_DOMAIN ? { senderDomain: env.RELAYCHECK_SENDER_DOMAIN } : {}),
      ...(env.RELAYCHECK_RECIPIENT_DOMAIN ? { recipientDomain: env.RELAYCHECK_RECIPIENT_DOMAIN } : {}),
      timeouts,
    },
    checkTimeoutMs: env.CHECK_TIMEOUT_MS,
  };
}

async function main(): Promise<void> {
  const env = getEnv();
  const metrics = getMetrics("worker");
  // Many checks at once start and end together: their writes wait for a pool connection (queued
  // in the pool) instead of failing after Prisma's 2 s.
  const services = createCheckServices(env, "worker", {
    db: { maxConnections: env.WORKER_DATABASE_POOL_SIZE, connectTimeoutMs: DB_WAIT_MS, transactionMaxWaitMs: DB_WAIT_MS },
  });
  const monitorServices: MonitorServices = { ...services, monitors: monitorSettingsFromEnv(env) };
  const log = services.log;
  if (env.NODE_ENV === "test" && env.RELAYCHECK_DNS_SERVERS.length === 0) {
    // Tests must never resolve through the system resolver (the engine looks up PTRs even for IPs).
    throw new Error("RELAYCHECK_DNS_SERVERS must name a local DNS server when NODE_ENV=test");
  }

  const shutdown = new AbortController();
  const probe = probeSettingsOf(env, env.RELAYCHECK_DNSBL_CACHE_SECONDS > 0 ? createBlocklistCache(services.redis, { prefix: services.keys.blocklistCache, ttlMs: env.RELAYCHECK_DNSBL_CACHE_SECONDS * 1000 }) : undefined);
  // Proof by delivery (issue 12): offered when a sink domain is set and it is not switched off.
  const deliveryProof: DeliveryProofDeps | undefined =
    env.RELAYCHECK_SINK_DOMAIN && env.RELAYCHECK_DELIVERY_PROOF !== "off"
      ? {
          services,
          probe: probe.base,
          settings: {
            sinkDomain: env.RELAYCHECK_SINK_DOMAIN,
            waitMs: env.RELAYCHECK_DELIVERY_WAIT_MS,
            perTargetPerDay: env.RELAYCHECK_DELIVERY_PROOFS_PER_DAY,
            publicUrl: env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`,
          },
        }
      : undefined;
  const serverSlots = createServerSlots(services.redis, {
    prefix: services.keys.serverSlots,
    limit: env.RELAYCHECK_MAX_CHECKS_PER_SERVER,
    // Short and renewed while held: a dead worker's slot is free again within this.
    leaseMs: env.SERVER_SLOT_LEASE_MS,
  });
  const onProbeEvent = (event: ProbeEvent) => observeCheckEvent(metrics, event);
  // Greylisting: cases that got a temporary refusal run again later, into the same report (and a
  // proof of delivery, when asked for, comes after the last round).
  const recheck = createRecheck({ services, probe, delaysMs: env.RECHECK_DELAYS_SECONDS.map((s) => s * 1000), serverSlots, onProbeEvent, deliveryProof });
  const handlers: Record<string, (job: Job) => Promise<void>> = {
    [runCheckJob.name]: createRunCheckHandler({
      services,
      probe,
      deliveryProof,
      shutdownSignal: shutdown.signal,
      serverSlots,
      recheck,
      onProbeEvent,
      // A check a monitor started is compared with the monitor's last one as soon as it ends.
      onCheckEnded: (checkId) => settleRunsOfCheck(monitorServices, checkId),
    }),
    [resumeCheckJob.name]: createResumeCheckHandler({
      services,
      // The handlers of each wait reason (re-check, delivery proof) plug in here.
      handlers: { recheck: recheck.handler, delivery: createDeliveryResumeHandler(services) },
      runMs: env.CHECK_TIMEOUT_MS,
      shutdownSignal: shutdown.signal,
      onCheckEnded: (checkId) => settleRunsOfCheck(monitorServices, checkId),
    }),
    [purgeExpiredJob.name]: createPurgeExpiredHandler(services, {
      clientWindowSeconds: env.RATE_LIMIT_CLIENT_WINDOW_SECONDS,
      retentionDays: env.RETENTION_DAYS,
    }),
    [reconcileChecksJob.name]: async () => {
      await reconcileChecks(services);
    },
    [runMonitorJob.name]: createRunMonitorHandler(monitorServices, metrics),
    [deliverAlertJob.name]: createDeliverAlertHandler(monitorServices, metrics),
    [sweepMonitorsJob.name]: createSweepMonitorsHandler(monitorServices),
  };

  const connection = createRedis({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, role: "blocking", name: "relaycheck-worker", log });
  const worker = new Worker(
    env.QUEUE_NAME,
    async (job: Job) => {
      const handler = handlers[job.name];
      if (!handler) throw new UnrecoverableError(`unknown job ${job.name}`);
      // Waited since it was due: its creation, or the end of its delay (a scheduled turn).
      if (job.attemptsMade === 0) metrics.jobWait.observe({ job: job.name }, Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp - (job.opts.delay ?? 0)) / 1000);
      await handler(job);
    },
    {
      connection,
      prefix: services.keys.queue,
      concurrency: env.WORKER_CONCURRENCY,
      autorun: false,
      // A dead worker's job is noticed and handed on within about JOB_LOCK_MS (BullMQ's default
      // is 30 s of lock plus 30 s between stall checks).
      lockDuration: env.JOB_LOCK_MS,
      stalledInterval: Math.max(1000, Math.floor(env.JOB_LOCK_MS / 2)),
    },
  );

  worker.on("failed", (job, err) => {
    if (!job || job.name !== runCheckJob.name) return;
    const last = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const checkId = (job.data as { checkId?: string }).checkId;
    log.warn({ checkId, err, final: last }, "check job failed");
    if (!last || !checkId || err instanceof UnrecoverableError) return;
    // Retried while the database is down; if it stays down, the reconciler ends the check later.
    fail({ services }, checkId, "internal", FAILED_MESSAGE, 0, Date.now() + env.CHECK_TIMEOUT_MS).catch((e) =>
      log.error({ checkId, err: e }, "could not mark the check failed; the reconciler will"),
    );
  });
  worker.on("error", (err) => log.error({ err }, "worker error"));
  // WORKER_CONCURRENCY is the most; fewer while the event loop runs late (a burst of CPU work).
  const stopAdapting = adaptConcurrency(worker, { max: env.WORKER_CONCURRENCY, min: MIN_CONCURRENCY, lagLimitMs: LAG_LIMIT_MS }, (change) =>
    log.debug(change, "checks taken at once adjusted to the event loop's delay"),
  );

  const stopSchedulers = keepSchedulers(
    services.queue,
    { reconcileEveryMs: env.RECONCILE_EVERY_MS, more: monitorSchedulersKeeper(services.db, monitorServices.monitors.sweepEveryMs) },
    log,
  );
  collectServiceMetrics(metrics, services);
  let metricsServer: MetricsServer | null = null;
  if (env.WORKER_METRICS_PORT !== undefined) {
    metricsServer = await serveMetrics(metrics, { host: env.WORKER_METRICS_HOST, port: env.WORKER_METRICS_PORT, token: env.METRICS_TOKEN, log });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker stopping: finishing running checks");
    stopSchedulers();
    stopAdapting();
    const grace = setTimeout(() => shutdown.abort(), SHUTDOWN_GRACE_MS);
    try {
      await worker.close();
    } finally {
      clearTimeout(grace);
      await metricsServer?.close();
      connection.disconnect();
      await closeCheckServices(services);
      log.info("worker stopped");
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  log.info({ queue: env.QUEUE_NAME, concurrency: env.WORKER_CONCURRENCY, checksPerServer: env.RELAYCHECK_MAX_CHECKS_PER_SERVER }, "worker started");
  void worker.run();
  await worker.waitUntilReady();
  // A parent that started us with an IPC channel (tests/support/service.ts) learns we are ready.
  process.send?.({ type: "ready" });
}

main().catch((err) => {
  // Startup errors (a bad env, an unreachable database) end the process with the reason.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
