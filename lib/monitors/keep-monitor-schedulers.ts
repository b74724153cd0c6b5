/**
 * A monitor's schedule lives in PostgreSQL (interval, offset); its BullMQ job scheduler
 * (`monitor:<id>`) is only its clock. `syncMonitorSchedulers` makes Redis match PostgreSQL:
 * creates the schedulers that are missing or differ, removes those of monitors that are gone
 * (deleted, or their key revoked). Every process runs it through keepSchedulers
 * (lib/queue/keep-schedulers.ts), at start and every minute, so a Redis that lost its data gets
 * every monitor back, at the same times (the offset is stored).
 */
import type { Db } from "@/lib/db/create-db";
import type { CheckQueue } from "@/lib/queue/create-check-queue";
import { runMonitorJob, sweepMonitorsJob } from "@/lib/queue/jobs";

export const MONITOR_SCHEDULER_PREFIX = "monitor:";

export const monitorSchedulerId = (monitorId: string): string => `${MONITOR_SCHEDULER_PREFIX}${monitorId}`;

export interface MonitorSchedule {
  id: string;
  intervalSeconds: number;
  offsetMs: number;
}

/** Finished scheduled runs kept in Redis (PostgreSQL keeps the monitor's history). */
const KEEP_FINISHED = { count: 100 };

export async function upsertMonitorScheduler(queue: CheckQueue, m: MonitorSchedule): Promise<void> {
  await queue.upsertJobScheduler(
    monitorSchedulerId(m.id),
    { every: m.intervalSeconds * 1000, offset: m.offsetMs },
    // One try: a run that fails is simply the next run's to do.
    { name: runMonitorJob.name, data: runMonitorJob.payload.parse({ monitorId: m.id }), opts: { attempts: 1, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED } },
  );
}

export async function removeMonitorScheduler(queue: CheckQueue, monitorId: string): Promise<void> {
  await queue.removeJobScheduler(monitorSchedulerId(monitorId));
}

/** Runs a monitor now, once, besides its schedule (its first check, at creation). */
export async function runMonitorNow(queue: CheckQueue, monitorId: string): Promise<void> {
  await queue.add(runMonitorJob.name, runMonitorJob.payload.parse({ monitorId }), {
    jobId: `monitor-now-${monitorId}-${Date.now()}`,
    attempts: 1,
    removeOnComplete: KEEP_FINISHED,
    removeOnFail: KEEP_FINISHED,
  });
}

export interface SyncResult {
  created: number;
  removed: number;
}

export async function syncMonitorSchedulers(queue: CheckQueue, db: Db): Promise<SyncResult> {
  const monitors = await db.monitor.findMany({ where: { apiKey: { revokedAt: null } }, select: { id: true, intervalSeconds: true, offsetMs: true } });
  const existing = new Map((await queue.getJobSchedulers(0, -1)).filter((s) => s.key.startsWith(MONITOR_SCHEDULER_PREFIX)).map((s) => [s.key, s]));
  const result: SyncResult = { created: 0, removed: 0 };
  for (const m of monitors) {
    const id = monitorSchedulerId(m.id);
    const s = existing.get(id);
    existing.delete(id);
    if (s && s.every === m.intervalSeconds * 1000 && s.offset === m.offsetMs) continue;
    await upsertMonitorScheduler(queue, m);
    result.created++;
  }
  for (const id of existing.keys()) {
    await queue.removeJobScheduler(id);
    result.removed++;
  }
  return result;
}

/** For keepSchedulers' `more`: the sweep's scheduler and every monitor's. */
export function monitorSchedulersKeeper(db: Db, sweepEveryMs: number) {
  return async (queue: CheckQueue): Promise<void> => {
    await queue.upsertJobScheduler(sweepMonitorsJob.name, { every: sweepEveryMs }, { name: sweepMonitorsJob.name, data: {} });
    await syncMonitorSchedulers(queue, db);
  };
}
