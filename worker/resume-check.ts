/**
 * The `resume-check` job: the follow-up of a waiting check (lib/checks/wait-check.ts). It claims
 * the round (a repeated or stale job finds nothing to do), keeps the check's heartbeat while it
 * works, and hands over to the handler of the wait's reason, which ends with another wait or a
 * `done`. A reason without a handler in this worker, or a handler that fails or returns without
 * either, ends the check with the report it has, so that no check is left waiting for nobody.
 */
import { UnrecoverableError, type Job } from "bullmq";
import { resumeCheckJob } from "@/lib/queue/jobs";
import { retryWhileDown } from "@/lib/checks/retry-while-down";
import { beatCheckHeart } from "@/lib/checks/start-check-run";
import { finishWithStoredReport, startResume } from "@/lib/checks/wait-check";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckWait, WaitReason } from "@/lib/checks/types";
import type { Logger } from "@/lib/logger";
import { HEARTBEAT_EVERY_MS } from "./run-check";

export interface ResumeContext {
  checkId: string;
  wait: CheckWait;
  /** Past this the reconciler ends the check: finish before it. */
  deadlineAt: Date;
  /** Aborted on shutdown (after the grace period) and when the handler's time is up. */
  signal: AbortSignal;
  log: Logger;
}

/** Does the follow-up; must end the check (`done`) or put it into a new wait (`enterWait`). */
export type ResumeHandler = (context: ResumeContext) => Promise<void>;

export interface ResumeCheckDeps {
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">;
  handlers: Partial<Record<WaitReason, ResumeHandler>>;
  /** The longest a follow-up may run (the check's own CHECK_TIMEOUT_MS). */
  runMs: number;
  shutdownSignal: AbortSignal;
  heartbeatEveryMs?: number;
  /** As in run-check: called once the check has ended; its failure is logged, not thrown. */
  onCheckEnded?: (checkId: string) => Promise<unknown>;
}

export function createResumeCheckHandler(deps: ResumeCheckDeps) {
  return async function handleResumeCheck(job: Job): Promise<void> {
    const parsed = resumeCheckJob.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad resume-check payload: ${parsed.error.message}`);
    const { checkId, reason, round } = parsed.data;
    const { services } = deps;
    const log = services.log.child({ checkId, jobId: job.id, reason, round });
    const whileDown = { until: Date.now() + 30_000, signal: deps.shutdownSignal };

    const claim = await retryWhileDown(() => startResume(services, checkId, { reason, round }, { runMs: deps.runMs }), whileDown);
    if (!claim.started) {
      log.info({ status: claim.status }, "not waiting for this follow-up any more; nothing to do");
      return;
    }
    const handler = deps.handlers[reason];
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("follow-up timeout")), deps.runMs);
    const onShutdown = () => controller.abort(new Error("worker shutting down"));
    deps.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
    const heartbeat = setInterval(() => void beatCheckHeart(services, checkId).catch(() => {}), deps.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS);
    try {
      if (handler) {
        log.info({ until: claim.wait.until }, "follow-up started");
        // A failing follow-up must not cost the report the check has: it is finished with it below.
        await handler({ checkId, wait: claim.wait, deadlineAt: claim.deadlineAt, signal: controller.signal, log }).catch((err: unknown) =>
          log.error({ err }, "follow-up failed"),
        );
      } else {
        log.warn("no handler for this follow-up in this worker; finishing the check with its report");
      }
    } finally {
      clearTimeout(timer);
      clearInterval(heartbeat);
      deps.shutdownSignal.removeEventListener("abort", onShutdown);
      if (!controller.signal.aborted) controller.abort(new Error("follow-up ended"));
    }
    // A handler that left the check running (neither a new wait nor done) does not leave it stuck.
    const after = await services.db.check.findUnique({ where: { id: checkId }, select: { status: true } });
    if (after?.status === "running") {
      if (handler) log.warn("follow-up ended without a verdict; finishing the check with the report it has");
      await retryWhileDown(() => finishWithStoredReport(services, checkId), { until: claim.deadlineAt.getTime() });
    }
    await deps.onCheckEnded?.(checkId).catch((err: unknown) => log.warn({ err }, "after-check work failed; the monitors' sweep will redo it"));
  };
}
