/**
 * The `run-check` job: load → probe → persist and publish each event → final report.
 *
 * A target that fails (refused, unreachable, hostile) is a result: the engine reports it and the
 * check ends `done`. A bad payload or a check that cannot be probed is an UnrecoverableError.
 * Only infrastructure errors are thrown as they are, so BullMQ retries the job; the last failed
 * attempt marks the check `failed` (worker/main.ts). A database that is down is waited for
 * (retries with backoff until the check's deadline) rather than failing the check; past the
 * deadline the reconciler ends it (lib/checks/reconcile-checks.ts).
 */
import { UnrecoverableError, type Job } from "bullmq";
import { runCheck, type CheckReport, type ProbeEvent, type ProbeOptionsInput } from "@/lib/probe";
import { runCheckJob } from "@/lib/queue/jobs";
import { recordCheckEvent } from "@/lib/checks/record-check-event";
import { EventWriter } from "./event-writer";
import { withDeliveryProof, type DeliveryProofDeps } from "./prove-delivery";
import { retryWhileDown } from "@/lib/checks/retry-while-down";
import { beatCheckHeart, startCheckRun } from "@/lib/checks/start-check-run";
import { targetOf } from "@/lib/checks/build-check-view";
import { policyOf } from "@/lib/checks/validate-target";
import { isAllowedPort } from "@/lib/security/target-policy";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckFailureCode } from "@/lib/checks/types";
import type { ServerSlots } from "@/lib/concurrency/server-slots";
import type { Logger } from "@/lib/logger";
import { AppError } from "@/lib/errors";
import type { Limiter } from "@/lib/rate-limit/create-limiters";
import type { Recheck } from "./recheck";

export interface ProbeSettings {
  /** Engine options that come from the operator's config (EHLO name, DNS servers, timeouts…). */
  base: Omit<ProbeOptionsInput, "addressPolicy" | "ports" | "signal">;
  /** A check running longer than this is aborted; the engine then reports what it saw. */
  checkTimeoutMs: number;
}

export interface RunCheckDeps {
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log"> & Partial<Pick<CheckServices, "limiters">>;
  /** Default HEARTBEAT_EVERY_MS. */
  heartbeatEveryMs?: number;
  probe: ProbeSettings;
  /** Aborted on shutdown after the grace period. */
  shutdownSignal: AbortSignal;
  /** The cap on probes of one server across all workers (none: no cap beyond the engine's own). */
  serverSlots?: ServerSlots;
  /** Sees every event the engine produced (metrics). */
  onProbeEvent?: (event: ProbeEvent) => void;
  /** Proof by delivery (issue 12): set when the service offers it (a sink domain is configured). */
  deliveryProof?: DeliveryProofDeps;
  /** The automatic re-check (worker/recheck.ts): may hold the check in a wait instead of ending it. */
  recheck?: Pick<Recheck, "afterProbe" | "wouldWait">;
  /** Called once the check's report is stored whole (monitors compare it with the one before); its failure is logged, not thrown. */
  onCheckEnded?: (checkId: string) => Promise<unknown>;
}

export const FAILED_MESSAGE = "The check could not be completed because of a problem on our side. Please try again.";

/** How long a job waits for an unreachable database before it lets BullMQ retry it. */
const START_RETRY_MS = 30_000;
/** The worker's sign of life on a running check (Check.heartbeatAt). */
export const HEARTBEAT_EVERY_MS = 5_000;

export function createRunCheckHandler(deps: RunCheckDeps) {
  return async function handleRunCheck(job: Job): Promise<void> {
    const parsed = runCheckJob.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad run-check payload: ${parsed.error.message}`);
    const { checkId } = parsed.data;
    const { db } = deps.services;
    const log = deps.services.log.child({ checkId, jobId: job.id });
    const whileDown = { until: Date.now() + START_RETRY_MS, signal: deps.shutdownSignal };

    const check = await retryWhileDown(() => db.check.findUnique({ where: { id: checkId } }), whileDown);
    if (!check) throw new UnrecoverableError(`no check ${checkId}`);
    if (check.status === "done" || check.status === "failed") {
      log.info({ status: check.status }, "check already finished; nothing to do");
      return;
    }
    const refusedPort = check.ports.find((p) => !isAllowedPort(p, deps.services.settings.extraPorts));
    if (refusedPort !== undefined) {
      await fail(deps, checkId, "target_refused", `Port ${refusedPort} may not be tested.`);
      throw new UnrecoverableError(`port ${refusedPort} refused`);
    }
    const run = await retryWhileDown(() => startCheckRun(deps.services, checkId, { runMs: deps.probe.checkTimeoutMs }), whileDown);
    if (!run.started) {
      log.info({ status: run.status }, "check already finished; nothing to do");
      return;
    }
    const runLog = log.child({ attempt: run.attempt });
    if (run.rerun) runLog.warn("the check's earlier run was lost; starting a clean attempt");

    const started = Date.now();
    const t = () => Date.now() - started;
    runLog.info({ target: check.target, ports: check.ports }, "probe started");

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("check timeout")), deps.probe.checkTimeoutMs);
    const onShutdown = () => controller.abort(new Error("worker shutting down"));
    deps.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
    const heartbeat = setInterval(() => void beatCheckHeart(deps.services, checkId).catch(() => {}), deps.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS);
    const writer = withDeliveryProof(new EventWriter(deps.services, checkId, { until: run.deadlineAt.getTime(), log: runLog }), deps.deliveryProof, check, { signal: controller.signal, log: runLog });
    const events = runCheck(targetOf(check), {
      ...deps.probe.base,
      ports: check.ports,
      addressPolicy: policyOf(deps.services.settings),
      signal: controller.signal,
      ...(deps.serverSlots ? { acquireServerSlot: slotAcquirer(deps.serverSlots, controller, runLog, deps.services.limiters?.serverProbes) } : {}),
    });
    try {
      let sawDone = false;
      for (;;) {
        let step: IteratorResult<ProbeEvent, CheckReport>;
        try {
          step = await events.next();
        } catch (e) {
          // The engine reports misbehaving servers as data: a throw here is a bug or a refused input.
          runLog.error({ err: e }, "probe engine failed");
          await writer.drain();
          await fail(deps, checkId, "probe_error", "The probe stopped unexpectedly; the check could not be completed.", t(), run.deadlineAt.getTime());
          throw new UnrecoverableError(`probe engine failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (step.done) {
          if (!sawDone) {
            const done = { type: "done" as const, t: t(), report: step.value };
            if (!(await heldForRecheck(deps, writer, checkId, done, runLog))) {
              writer.push(done);
              deps.onProbeEvent?.(done);
            }
          }
          await writer.drain();
          break;
        }
        if (step.value.type === "done") {
          sawDone = true;
          runLog.info({ verdict: step.value.report.verdict, ms: t() }, "probe done");
          if (await heldForRecheck(deps, writer, checkId, step.value, runLog)) continue;
        }
        writer.push(step.value);
        deps.onProbeEvent?.(step.value);
      }
    } finally {
      // Every way out stops the probe: no engine keeps talking to a server after its job ended.
      clearTimeout(timer);
      clearInterval(heartbeat);
      deps.shutdownSignal.removeEventListener("abort", onShutdown);
      if (!controller.signal.aborted) controller.abort(new Error("check handler ended"));
      await events.return(undefined as never).catch(() => {});
    }
    await deps.onCheckEnded?.(checkId).catch((err: unknown) => runLog.warn({ err }, "after-check work failed; the monitors' sweep will redo it"));
  };
}

/**
 * Whether the probe's end waits for a re-check (cases got a temporary refusal a later session
 * could decide) instead of ending the check: the events so far are stored first. A report no
 * re-check would hold costs nothing here (its `done` goes with the events still pending).
 */
async function heldForRecheck(deps: RunCheckDeps, writer: Pick<EventWriter, "drain">, checkId: string, done: { t: number; report: CheckReport }, log: Logger): Promise<boolean> {
  if (!deps.recheck?.wouldWait(done.report)) return false;
  await writer.drain();
  // A wait that cannot be stored must not cost the check its end: it ends as it would have.
  return deps.recheck.afterProbe(checkId, done.report, done.t, log).catch((err: unknown) => {
    log.warn({ err }, "could not schedule the re-check; ending the check with its report");
    return false;
  });
}

/**
 * The engine's `acquireServerSlot` over the shared semaphore: waits (logging every few seconds)
 * until the server has a free slot or the check is aborted (its timeout, a shutdown); the engine
 * then finds the signal aborted and reports the server as cancelled without connecting.
 * `perServer` is the per-server probe limit; a re-check passes none (it never counts).
 */
export function slotAcquirer(slots: ServerSlots, controller: AbortController, log: Logger, perServer?: Limiter) {
  return async (ip: string, port: number): Promise<(() => Promise<void>) | { refused: string }> => {
    // Probes of one address are counted whatever name or port led to it (many domains share an MX).
    const refused = await perServer?.consume(ip).then(
      () => null,
      (e: unknown) => (e instanceof AppError && e.code === "rate_limited" ? e.message.replace(/^Too many probes of this server address\./, "This server address was probed too often lately.") : null),
    );
    if (refused) {
      log.warn({ ip, port }, "server address over its probe limit; not probed");
      return { refused };
    }
    const lease = await slots.acquire(ip, {
      signal: controller.signal,
      onLost: () => {
        // Another worker may take the server now: stop, rather than probe it twice at once.
        log.error({ ip, port }, "server slot lost (Redis unreachable or wiped); stopping the probe");
        controller.abort(new Error("server slot lost"));
      },
      onWaiting: ({ waitedMs }) => log.info({ ip, port, waitedMs }, "waiting for a free slot on the server"),
      onError: (err) => log.warn({ ip, port, err }, "server slot: Redis failed; trying again"),
    });
    if (!lease.acquired) return async () => {};
    return async () => {
      const held = await lease.release().catch((err: unknown) => {
        log.warn({ ip, port, err }, "server slot: release failed; the lease will expire");
        return true;
      });
      if (!held) log.warn({ ip, port }, "server slot: the lease had expired before the probe ended");
    };
  };
}

/**
 * Ends a check `failed`: retried while the database is down, until `until` (default: a minute);
 * a check that finished meanwhile is left as it is (its terminal event is final).
 */
export async function fail(deps: Pick<RunCheckDeps, "services">, checkId: string, code: CheckFailureCode, message: string, t = 0, until = Date.now() + 60_000): Promise<void> {
  await retryWhileDown(() => recordCheckEvent(deps.services, checkId, { type: "failed", t, error: { code, message } }), { until });
}
