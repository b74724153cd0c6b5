/**
 * The monitors' safety net (the `sweep-monitors` job, every RECONCILE_EVERY_MS):
 * 1. settles runs whose check has ended but was not settled (the worker died after its final
 *    write, the reconciler ended the check, the database was down at that moment);
 * 2. queues again the pending alerts whose job is gone (Redis lost it) or ended without an answer
 *    (the database was down through all its tries);
 * 3. deletes runs and finished deliveries older than RETENTION_DAYS.
 */
import type { MonitorServices } from "./monitor-settings";
import { alertJobId, enqueueDeliveries } from "./deliver-alert";
import { settleMonitorRun } from "./settle-monitor-run";

/** Rows looked at per pass; the next pass takes the rest. */
const BATCH = 500;
/** A pending alert younger than this is left to the code that raised it. */
const PENDING_GRACE_MS = 30_000;

export interface SweepResult {
  settled: number;
  requeued: number;
  pruned: number;
}

export async function sweepMonitors(services: MonitorServices, now = new Date()): Promise<SweepResult> {
  const { db, queue, monitors: ms } = services;
  const result: SweepResult = { settled: 0, requeued: 0, pruned: 0 };

  const ended = await db.monitorRun.findMany({
    where: { settledAt: null, check: { status: { in: ["done", "failed"] } } },
    orderBy: { createdAt: "asc" },
    take: BATCH,
    select: { monitorId: true, checkId: true },
  });
  for (const r of ended) if ((await settleMonitorRun(services, r.monitorId, r.checkId)).settled) result.settled++;

  const pending = await db.alertDelivery.findMany({
    where: { status: "pending", kind: "change", createdAt: { lt: new Date(now.getTime() - PENDING_GRACE_MS) } },
    orderBy: { createdAt: "asc" },
    take: BATCH,
    select: { id: true },
  });
  for (const d of pending) {
    const job = await queue.getJob(alertJobId(d.id));
    const state = job ? await job.getState() : "missing";
    if (state !== "missing" && state !== "unknown" && state !== "completed" && state !== "failed") continue;
    await job?.remove().catch(() => {});
    await enqueueDeliveries(queue, [d.id], ms);
    result.requeued++;
  }

  if (ms.retentionDays > 0) {
    const cutoff = new Date(now.getTime() - ms.retentionDays * 86_400_000);
    result.pruned += (await db.monitorRun.deleteMany({ where: { settledAt: { not: null }, createdAt: { lt: cutoff } } })).count;
    result.pruned += (await db.alertDelivery.deleteMany({ where: { status: { not: "pending" }, createdAt: { lt: cutoff } } })).count;
  }
  if (result.settled || result.requeued || result.pruned) services.log.info(result, "monitors swept");
  return result;
}
