/**
 * The periodic jobs (retention purge, reconciler, and through `more` the monitors') are BullMQ job
 * schedulers, which live in Redis.
 * A Redis that lost its data loses them too, so every process (web and worker) creates them on
 * start and again every `checkEveryMs`: `upsertJobScheduler` is idempotent, and whichever process
 * comes first after a wipe puts them back. A Redis that is down only delays this; it never throws.
 */
import type { Logger } from "@/lib/logger";
import type { CheckQueue } from "./create-check-queue";
import { purgeExpiredJob, reconcileChecksJob } from "./jobs";

export interface SchedulerSettings {
  reconcileEveryMs: number;
  /** How often the schedulers are re-created (default: twice the reconciler's period, at most a minute). */
  checkEveryMs?: number;
  /** More schedulers kept the same way, e.g. the monitors' (lib/monitors/keep-monitor-schedulers.ts). */
  more?: (queue: CheckQueue) => Promise<void>;
}

const MAX_CHECK_EVERY_MS = 60_000;

export async function upsertSchedulers(queue: CheckQueue, settings: SchedulerSettings): Promise<void> {
  await queue.upsertJobScheduler(purgeExpiredJob.name, { every: purgeExpiredJob.everyMs }, { name: purgeExpiredJob.name, data: {} });
  await queue.upsertJobScheduler(reconcileChecksJob.name, { every: settings.reconcileEveryMs }, { name: reconcileChecksJob.name, data: {} });
  await settings.more?.(queue);
}

/** Creates the schedulers now and keeps re-creating them; returns a function that stops that. */
export function keepSchedulers(queue: CheckQueue, settings: SchedulerSettings, log: Logger): () => void {
  let failing = false;
  const ensure = () =>
    upsertSchedulers(queue, settings).then(
      () => {
        if (failing) log.info("job schedulers restored");
        failing = false;
      },
      (err: unknown) => {
        if (!failing) log.warn({ err }, "could not create the job schedulers; trying again");
        failing = true;
      },
    );
  void ensure();
  const timer = setInterval(() => void ensure(), settings.checkEveryMs ?? Math.min(MAX_CHECK_EVERY_MS, settings.reconcileEveryMs * 2));
  timer.unref();
  return () => clearInterval(timer);
}
