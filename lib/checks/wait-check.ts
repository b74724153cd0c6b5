/**
 * A check between runs (status `waiting`). The probe has a report; a follow-up is due later:
 * the cases that got a temporary refusal run again (greylisting, reason "recheck"), or the wait
 * for a proof message ends (reason "delivery"). The shape, shared by both:
 *
 * 1. `enterWait` stores a `waiting` event (the report so far, as `done` would store it; the
 *    status becomes "waiting", the deadline `until` + RESUME_GRACE_MS) and schedules a delayed
 *    `resume-check` job for `until`. PostgreSQL first: if the job cannot be added, the reconciler
 *    adds it (lib/checks/reconcile-checks.ts), and past the deadline it finishes the check with
 *    the report it has.
 * 2. The `resume-check` job (worker/resume-check.ts) calls `startResume`, which claims the round
 *    (status "running" again, a `resumed` event, a fresh deadline) and hands over to the handler
 *    of the wait's reason. That handler ends with another `enterWait` or with a `done`.
 * 3. `finishWithStoredReport` ends a waiting check with what its rows hold: the fallback when
 *    nothing more can be learnt (the reconciler past the deadline, a handler with nothing to do).
 */
import type { CheckQueue } from "@/lib/queue/create-check-queue";
import { resumeCheckJob, type ResumeCheckPayload } from "@/lib/queue/jobs";
import type { CheckReport } from "@/lib/probe/types";
import { reportOf } from "./build-check-view";
import { parseStored } from "./parse-stored";
import { recordCheckEvent, RESUME_GRACE_MS } from "./record-check-event";
import { checkWaitSchema } from "./report-schema";
import type { CheckServices } from "./services";
import type { CheckWait, WaitReason } from "./types";

export { RESUME_GRACE_MS };
/** Time after the follow-up's own run time for its final writes (as FINISH_MARGIN_MS for a run). */
const RESUME_FINISH_MARGIN_MS = 60_000;

type WaitServices = Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">;

/** The `resume-check` job's id: one per check, reason and round, so a round is resumed at most once. */
export function resumeJobId(checkId: string, reason: WaitReason, round: number): string {
  return `resume-${reason}-${round}-${checkId}`;
}

/** Adds the delayed `resume-check` job of a wait (a no-op when it exists already). */
export async function scheduleResume(queue: CheckQueue, checkId: string, wait: CheckWait, now = Date.now()): Promise<void> {
  const data: ResumeCheckPayload = resumeCheckJob.payload.parse({ checkId, reason: wait.reason, round: wait.round });
  await queue.add(resumeCheckJob.name, data, {
    jobId: resumeJobId(checkId, wait.reason, wait.round),
    delay: Math.max(0, Date.parse(wait.until) - now),
    // The reconciler re-adds a lost one; a failing follow-up is retried once like a check.
    attempts: 2,
  });
}

/**
 * Puts a running check into `waiting` with `report` as its report so far, and schedules the
 * follow-up. Returns false when the check had already finished (nothing is scheduled then).
 * A failure to schedule is logged, not thrown: the reconciler schedules it from PostgreSQL.
 */
export async function enterWait(services: WaitServices, checkId: string, wait: CheckWait, report: CheckReport, t: number): Promise<boolean> {
  const seq = await recordCheckEvent(services, checkId, { type: "waiting", t, wait, report });
  if (seq === null) return false;
  try {
    await scheduleResume(services.queue, checkId, wait);
  } catch (err) {
    services.log.warn({ checkId, err, wait }, "could not schedule the follow-up; the reconciler will");
  }
  return true;
}

export type StartedResume =
  | { started: false; status: string }
  | { started: true; wait: CheckWait; deadlineAt: Date };

/**
 * Claims round `round` of a waiting check for its follow-up: only a check still waiting for that
 * very round is taken (a repeated or stale job finds nothing to do). The check is "running" again
 * with a deadline of `runMs` from now, and viewers get a `resumed` event.
 */
export async function startResume(
  services: WaitServices,
  checkId: string,
  expected: { reason: WaitReason; round: number },
  options: { runMs: number },
): Promise<StartedResume> {
  const { db } = services;
  const now = new Date();
  const deadlineAt = new Date(now.getTime() + options.runMs + RESUME_FINISH_MARGIN_MS);
  const claimed = await db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ status: string; waiting: unknown }[]>`SELECT status, waiting FROM checks WHERE id = ${checkId} FOR UPDATE`;
    if (!row) return { started: false as const, status: "missing" };
    if (row.status !== "waiting" || !row.waiting) return { started: false as const, status: row.status };
    const wait = parseStored(checkWaitSchema, row.waiting, { checkId, what: "checks.waiting" });
    if (wait.reason !== expected.reason || wait.round !== expected.round) return { started: false as const, status: `waiting (${wait.reason} round ${wait.round})` };
    await tx.check.update({ where: { id: checkId }, data: { deadlineAt, heartbeatAt: now } });
    return { started: true as const, wait, deadlineAt };
  });
  if (!claimed.started) return claimed;
  await recordCheckEvent(services, checkId, { type: "resumed", t: 0, reason: claimed.wait.reason, round: claimed.wait.round });
  return claimed;
}

/**
 * Ends a check that is waiting (or was resumed) with the report its rows hold, as `done`.
 * Returns false when it had finished already.
 */
export async function finishWithStoredReport(services: WaitServices, checkId: string, t = 0): Promise<boolean> {
  const { db } = services;
  const [check, servers, cases] = await Promise.all([
    db.check.findUnique({ where: { id: checkId } }),
    db.checkServer.findMany({ where: { checkId } }),
    db.checkCase.findMany({ where: { checkId } }),
  ]);
  if (!check) return false;
  const seq = await recordCheckEvent(services, checkId, { type: "done", t, report: reportOf(check, servers, cases) });
  return seq !== null;
}
