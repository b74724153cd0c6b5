/**
 * The reconciler: PostgreSQL is the truth of a check's lifecycle, Redis only carries its job.
 * Run periodically (the `reconcile-checks` job scheduler, lib/queue/keep-schedulers.ts), it looks
 * at every check that PostgreSQL says is queued or running and
 *
 * 1. ends it `failed` (code `timeout`) when its deadline has passed;
 * 2. re-enqueues it when its job is gone (Redis lost its data, or the job ended without its final
 *    write reaching PostgreSQL) and no worker is still on it (a running check's heartbeat is stale),
 *    up to MAX_ATTEMPTS runs;
 * 3. ends it `failed` (code `internal`) when its job failed for good but the failure was never
 *    written, or when it has used up its runs.
 *
 * A `waiting` check (lib/checks/wait-check.ts) has a report already: past its deadline it is
 * finished `done` with that report (the follow-up never came; nothing is lost by ending it), and
 * a follow-up job that vanished is scheduled again.
 *
 * Every write goes through recordCheckEvents, so viewers see the terminal event live and a check
 * that finished meanwhile is never touched (its terminal event is final).
 */
import type { Job } from "bullmq";
import { enqueueCheck } from "@/lib/queue/create-check-queue";
import type { CheckServices } from "./services";
import { recordCheckEvent } from "./record-check-event";
import { checkWaitSchema } from "./report-schema";
import { parseStored } from "./parse-stored";
import type { CheckFailureCode, CheckWait } from "./types";
import { settleDelivery } from "@/lib/sink/settle-delivery";
import { finishWithStoredReport, resumeJobId, scheduleResume } from "./wait-check";

/** Runs a check may start (the first and re-runs after lost workers) before it is failed. */
export const MAX_ATTEMPTS = 3;
/** A running check whose heartbeat is older than this has no live worker. */
export const HEARTBEAT_STALE_MS = 20_000;
/** Checks looked at per pass (oldest first); the next pass takes the rest. */
const BATCH = 500;

export const TIMEOUT_MESSAGE = "The check did not finish in time. Please try again.";
export const LOST_MESSAGE = "The check could not be completed because of a problem on our side. Please try again.";

export interface ReconcileResult {
  timedOut: number;
  requeued: number;
  failed: number;
  /** Waiting checks finished with their report (past the deadline) or whose follow-up was re-added. */
  waitsFinished: number;
  waitsRescheduled: number;
}

export interface ReconcileOptions {
  heartbeatStaleMs?: number;
  now?: Date;
}

export async function reconcileChecks(
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">,
  options: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const { db, queue, settings, log } = services;
  const now = options.now ?? new Date();
  const staleBefore = now.getTime() - (options.heartbeatStaleMs ?? HEARTBEAT_STALE_MS);
  const result: ReconcileResult = { timedOut: 0, requeued: 0, failed: 0, waitsFinished: 0, waitsRescheduled: 0 };
  const open = await db.check.findMany({
    where: { status: { in: ["queued", "running", "waiting"] } },
    orderBy: { createdAt: "asc" },
    take: BATCH,
    select: { id: true, status: true, createdAt: true, deadlineAt: true, heartbeatAt: true, attempt: true, waiting: true },
  });
  for (const check of open) {
    const checkLog = log.child({ checkId: check.id });
    if (check.status === "waiting") {
      await reconcileWait(services, check, now, result);
      continue;
    }
    const end = async (code: CheckFailureCode, message: string) => {
      const seq = await recordCheckEvent(services, check.id, { type: "failed", t: 0, error: { code, message } });
      if (seq !== null) checkLog.warn({ code, status: check.status, attempt: check.attempt }, "reconciler ended the check");
      return seq !== null;
    };
    if (check.deadlineAt && check.deadlineAt <= now) {
      if (await end("timeout", TIMEOUT_MESSAGE)) result.timedOut++;
      await removeJob(await queue.getJob(check.id));
      continue;
    }
    if (now.getTime() - check.createdAt.getTime() < settings.reconcileGraceMs) continue;
    const job = await queue.getJob(check.id);
    const state = job ? await job.getState() : "missing";
    if (state === "waiting" || state === "delayed" || state === "prioritized" || state === "waiting-children") continue;
    if (state === "active") continue; // BullMQ's stall detection hands a dead worker's job on
    if (check.status === "running" && check.heartbeatAt && check.heartbeatAt.getTime() > staleBefore) continue;
    if (state === "failed") {
      // The job failed for good (the worker's own failure write was lost): say so, do not retry.
      if (await end("internal", LOST_MESSAGE)) result.failed++;
      continue;
    }
    if (check.attempt >= MAX_ATTEMPTS) {
      if (await end("internal", LOST_MESSAGE)) result.failed++;
      await removeJob(job);
      continue;
    }
    // Gone ("missing", "unknown") or completed without a final write: run it again.
    await removeJob(job);
    await enqueueCheck(queue, { checkId: check.id });
    result.requeued++;
    checkLog.warn({ status: check.status, jobState: state, attempt: check.attempt }, "reconciler re-enqueued a check whose job was lost");
  }
  if (Object.values(result).some((n) => n > 0)) log.info(result, "reconciled checks");
  return result;
}

async function reconcileWait(
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">,
  check: { id: string; deadlineAt: Date | null; waiting: unknown },
  now: Date,
  result: ReconcileResult,
): Promise<void> {
  const checkLog = services.log.child({ checkId: check.id });
  const wait = check.waiting ? parseStored(checkWaitSchema, check.waiting, { checkId: check.id, what: "checks.waiting" }) : null;
  if (!wait || (check.deadlineAt && check.deadlineAt <= now)) {
    if (await finishWait(services, check.id, wait)) {
      result.waitsFinished++;
      checkLog.warn({ wait }, "reconciler finished a waiting check whose follow-up never came, with the report it has");
    }
    return;
  }
  const job = await services.queue.getJob(resumeJobId(check.id, wait.reason, wait.round));
  const state = job ? await job.getState() : "missing";
  if (state !== "missing" && state !== "unknown" && state !== "completed" && state !== "failed") return;
  if (state === "completed" || state === "failed") {
    // It ran without moving the check on (its writes were lost): finish with what there is.
    if (await finishWait(services, check.id, wait)) result.waitsFinished++;
    await removeJob(job);
    return;
  }
  await scheduleResume(services.queue, check.id, wait, now.getTime());
  result.waitsRescheduled++;
  checkLog.warn({ wait }, "reconciler re-scheduled the follow-up of a waiting check");
}

/**
 * Ends a waiting check whose follow-up never came with what it has: a delivery wait as its own
 * follow-up would have (proofs that did not arrive said so), anything else with its stored report.
 */
async function finishWait(services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">, checkId: string, wait: CheckWait | null): Promise<boolean> {
  if (wait?.reason === "delivery") return settleDelivery(services, checkId, "final");
  return finishWithStoredReport(services, checkId);
}

async function removeJob(job: Job | undefined | null): Promise<void> {
  if (!job) return;
  // A job locked by a live worker cannot be removed; that worker's writes are dropped anyway.
  await job.remove().catch(() => {});
}
