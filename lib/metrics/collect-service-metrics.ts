/**
 * Gauges read at scrape time from the state every process shares: the queue in Redis, the checks
 * and monitors in PostgreSQL. Registered once per process. A read that fails (Redis or
 * PostgreSQL down) keeps the last values and counts in relaycheck_metrics_collect_errors_total:
 * the scrape itself still answers.
 */
import client from "prom-client";
import type { Db } from "@/lib/db/create-db";
import type { CheckQueue } from "@/lib/queue/create-check-queue";
import type { Metrics } from "./metrics";

const JOB_STATES = ["waiting", "prioritized", "active", "delayed", "failed"] as const;
/** Window of relaycheck_checks_recent. */
const RECENT_MS = 3_600_000;

const holder = globalThis as typeof globalThis & { __relaycheckServiceCollectors?: boolean };

export function collectServiceMetrics(metrics: Metrics, sources: { queue: CheckQueue; db: Db }): void {
  if (holder.__relaycheckServiceCollectors) return;
  holder.__relaycheckServiceCollectors = true;
  const registers = [metrics.registry];
  /** A collect function that counts its failure instead of failing the scrape. */
  const guarded =
    <G>(source: "redis" | "postgres", read: (this: G) => Promise<void>) =>
    async function (this: G): Promise<void> {
      try {
        await read.call(this);
      } catch {
        metrics.collectErrors.inc({ source });
      }
    };

  new client.Gauge({
    name: "relaycheck_queue_jobs",
    help: "Jobs in the queue by state (checks, monitor turns, alerts…).",
    labelNames: ["state"] as const,
    registers,
    collect: guarded("redis", async function (this: client.Gauge<"state">) {
      const counts = await sources.queue.getJobCounts(...JOB_STATES);
      for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
    }),
  });
  new client.Gauge({
    name: "relaycheck_queue_oldest_waiting_seconds",
    help: "Age of the oldest job waiting for a worker (0: none waits).",
    registers,
    collect: guarded("redis", async function (this: client.Gauge) {
      const [oldest] = await sources.queue.getWaiting(-1, -1);
      this.set(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
    }),
  });
  new client.Gauge({
    name: "relaycheck_checks_recent",
    help: "Checks created in the last hour, by status and verdict.",
    labelNames: ["status", "verdict"] as const,
    registers,
    collect: guarded("postgres", async function (this: client.Gauge<"status" | "verdict">) {
      const rows = await sources.db.check.groupBy({ by: ["status", "verdict"], where: { createdAt: { gte: new Date(Date.now() - RECENT_MS) } }, _count: { _all: true } });
      this.reset();
      for (const r of rows) this.set({ status: r.status, verdict: r.verdict ?? "none" }, r._count._all);
    }),
  });
  new client.Gauge({
    name: "relaycheck_monitors",
    help: "Monitors, by state.",
    labelNames: ["state"] as const,
    registers,
    collect: guarded("postgres", async function (this: client.Gauge<"state">) {
      const now = new Date();
      const [all, backingOff] = await Promise.all([sources.db.monitor.count(), sources.db.monitor.count({ where: { backoffUntil: { gt: now } } })]);
      this.set({ state: "active" }, all - backingOff);
      this.set({ state: "backing-off" }, backingOff);
    }),
  });
}
