/**
 * The automatic re-check of cases that got a temporary refusal (greylisting), in the service:
 *
 * 1. when a check's probe ends with cases a later session could decide (lib/probe
 *    `recheckPlan`: temporary refusals that are not policy deferrals, on a server they leave
 *    inconclusive, and the check is not an open relay already), `afterProbe` does not end the
 *    check: it stores the report so far as a `waiting` check, with a `resume-check` job due
 *    `delays[0]` after the check started (RECHECK_DELAYS_SECONDS; lib/checks/wait-check.ts);
 * 2. at that time the `recheck` handler re-runs only those cases of only those servers (same
 *    address and port, no new DNS; the target policy, the per-server slot and the abort signal
 *    apply as to a probe; no rate limit counts it), folds the answers into the stored report
 *    (lib/probe `recheckCases`), publishes each case and server as a probe does, and ends with
 *    `done` — or with the next round's wait while cases still got a temporary refusal and a
 *    round is left.
 */
import { recheckCases, recheckPlan, type CheckReport, type ProbeEvent } from "@/lib/probe";
import { reportOf } from "@/lib/checks/build-check-view";
import { retryWhileDown } from "@/lib/checks/retry-while-down";
import { policyOf } from "@/lib/checks/validate-target";
import { enterWait } from "@/lib/checks/wait-check";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckWait } from "@/lib/checks/types";
import type { ServerSlots } from "@/lib/concurrency/server-slots";
import type { Logger } from "@/lib/logger";
import { EventWriter } from "./event-writer";
import { withDeliveryProof, type DeliveryProofDeps } from "./prove-delivery";
import type { ResumeHandler } from "./resume-check";
import { slotAcquirer, type ProbeSettings } from "./run-check";

export interface RecheckDeps {
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">;
  probe: ProbeSettings;
  /** Round n is due `delaysMs[n - 1]` after the check started (RECHECK_DELAYS_SECONDS); empty: off. */
  delaysMs: number[];
  /** The cap on sessions per server across all workers (the same as the probes'). */
  serverSlots?: ServerSlots;
  /** Sees every event of a round (metrics). */
  onProbeEvent?: (event: ProbeEvent) => void;
  /** Proof by delivery: runs when the re-checks are over, as at the end of a probe. */
  deliveryProof?: DeliveryProofDeps;
}

export interface Recheck {
  /**
   * At the end of a check's probe: true when the check now waits for a re-check (the caller
   * must not end it), false when no re-check is due (the caller ends it as usual).
   */
  afterProbe(checkId: string, report: CheckReport, t: number, log: Logger): Promise<boolean>;
  /** Whether `afterProbe` would hold this report for a re-check (pure: the caller stores its events first only then). */
  wouldWait(report: CheckReport): boolean;
  /** The `resume-check` handler of reason "recheck". */
  handler: ResumeHandler;
}

/** Never sooner than this after a round: the job needs a moment, the server too. */
const MIN_DELAY_MS = 1_000;

export function createRecheck(deps: RecheckDeps): Recheck {
  /** Enters the wait for round `round` when the report has cases a re-check could decide. */
  async function waitForRound(checkId: string, report: CheckReport, round: number, t: number): Promise<boolean> {
    const delay = deps.delaysMs[round - 1];
    if (delay === undefined) return false;
    const plan = recheckPlan(report);
    if (plan.length === 0) return false;
    const cases = plan.reduce((n, s) => n + s.caseIds.length, 0);
    const until = new Date(Math.max(Date.parse(report.startedAt) + delay, Date.now() + MIN_DELAY_MS));
    const wait: CheckWait = {
      reason: "recheck",
      until: until.toISOString(),
      round,
      servers: plan.map((s) => s.key),
      message: `Re-checking at ${until.toISOString().slice(11, 16)} UTC (greylisting): ${cases === 1 ? "1 case" : `${cases} cases`} got a temporary refusal${round > 1 ? ` again (round ${round})` : ""}.`,
    };
    return enterWait(deps.services, checkId, wait, report, t);
  }

  return {
    wouldWait: (report) => deps.delaysMs.length > 0 && recheckPlan(report).length > 0,

    afterProbe: async (checkId, report, t, log) => {
      const waiting = await waitForRound(checkId, report, 1, t);
      if (waiting) log.info({ verdict: report.verdict }, "cases got a temporary refusal; re-check scheduled");
      return waiting;
    },

    handler: async ({ checkId, wait, deadlineAt, signal, log }) => {
      const { db } = deps.services;
      const whileDown = { until: deadlineAt.getTime(), signal };
      const [check, servers, cases] = await retryWhileDown(
        () => Promise.all([db.check.findUnique({ where: { id: checkId } }), db.checkServer.findMany({ where: { checkId } }), db.checkCase.findMany({ where: { checkId } })]),
        whileDown,
      );
      if (!check) return;
      const stored = reportOf(check, servers, cases);
      const plan = recheckPlan(stored).filter((p) => wait.servers.includes(p.key));
      const started = Date.now();
      const t = () => Date.now() - started;
      const writer = new EventWriter(deps.services, checkId, { until: deadlineAt.getTime(), log });
      // Slot lost (another worker may take the server): stop the round, as a probe stops.
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      let report = stored;
      try {
        if (plan.length > 0) {
          log.info({ servers: plan.map((p) => p.key), cases: plan.reduce((n, p) => n + p.caseIds.length, 0) }, "re-check started");
          report = await recheckCases(
            stored,
            {
              ...deps.probe.base,
              ports: stored.options.ports,
              addressPolicy: policyOf(deps.services.settings),
              signal: controller.signal,
              // No per-server probe limit here: a re-check never counts against the rate limits.
              ...(deps.serverSlots ? { acquireServerSlot: slotAcquirer(deps.serverSlots, controller, log) } : {}),
            },
            { round: wait.round },
            (event) => {
              writer.push(event);
              deps.onProbeEvent?.(event);
            },
            plan,
          );
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        if (!controller.signal.aborted) controller.abort(new Error("re-check ended"));
      }
      await writer.drain();
      log.info({ verdict: report.verdict, ms: t() }, "re-check done");
      if (!signal.aborted && (await waitForRound(checkId, report, wait.round + 1, t()))) return;
      const done = { type: "done" as const, t: t(), report };
      // The check would end here: a proof of delivery, when it asked for one, goes first.
      const final = withDeliveryProof(writer, deps.deliveryProof, check, { signal, log });
      final.push(done);
      await final.drain();
      deps.onProbeEvent?.(done);
    },
  };
}
