/**
 * Settling a monitor's run once its check has ended: compare it with the monitor's baseline (the
 * last check with a verdict), raise the alerts of a change, count failures for the back-off, and
 * make this check the new baseline.
 *
 * Exactly once, whoever comes: the worker that finished the check, the monitor's next run, the
 * sweep, two of them at once. The decision is one PostgreSQL transaction with two
 * compare-and-sets: the run row goes from unsettled to settled (only one transaction can do that:
 * the second waits for the first's row lock, then finds it settled and changes nothing), and the
 * monitor's baseline moves only from the check the diff was made against (if another run moved it
 * meanwhile, the transaction is rolled back and the settling starts over on the new baseline).
 * The alerts are rows written in that same transaction; their jobs are queued after it commits
 * (a lost enqueue is redone by the sweep).
 */
import { getCheck } from "@/lib/checks/get-check";
import { diffChecks, type CheckDiff } from "@/lib/checks/diff-checks";
import { isTerminalStatus } from "@/lib/checks/record-check-event";
import type { CheckView } from "@/lib/checks/types";
import { createDeliveries, enqueueDeliveries } from "./deliver-alert";
import { backoffDelayMs } from "./monitor-schedule";
import type { MonitorServices } from "./monitor-settings";

export interface SettleResult {
  /** False when there was nothing to do: no such run, already settled, or its check still runs. */
  settled: boolean;
  changed: boolean;
  /** Alerts raised (delivery ids). */
  deliveries: string[];
}

const NOTHING: SettleResult = { settled: false, changed: false, deliveries: [] };
/** How often a settling starts over because another run moved the baseline at the same moment. */
const MAX_TRIES = 3;

class BaselineMoved extends Error {}

export async function settleMonitorRun(services: MonitorServices, monitorId: string, checkId: string): Promise<SettleResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await settleOnce(services, monitorId, checkId);
    } catch (e) {
      if (!(e instanceof BaselineMoved) || attempt >= MAX_TRIES) throw e;
    }
  }
}

/** Settles every unsettled run of a check (the worker calls this when a check ends). */
export async function settleRunsOfCheck(services: MonitorServices, checkId: string): Promise<SettleResult[]> {
  const runs = await services.db.monitorRun.findMany({ where: { checkId, settledAt: null }, select: { monitorId: true } });
  const results: SettleResult[] = [];
  for (const r of runs) results.push(await settleMonitorRun(services, r.monitorId, checkId));
  return results;
}

async function settleOnce(services: MonitorServices, monitorId: string, checkId: string): Promise<SettleResult> {
  const { db } = services;
  const run = await db.monitorRun.findUnique({ where: { monitorId_checkId: { monitorId, checkId } }, include: { monitor: true } });
  if (!run || run.settledAt) return NOTHING;
  const check = await getCheck(checkId, services);
  if (!check || !isTerminalStatus(check.status)) return NOTHING;

  // The reports are final once their checks ended: read and compared outside the transaction.
  const monitor = run.monitor;
  const baselineId = monitor.lastCheckId;
  const hasVerdict = check.status === "done" && check.verdict !== null;
  const previous: CheckView | null = hasVerdict && baselineId && baselineId !== checkId ? await getCheck(baselineId, services) : null;
  const diff: CheckDiff | null = previous && previous.status === "done" ? diffChecks(previous, check) : null;
  const changed = diff?.changed ?? false;
  const failure = check.status === "failed" || check.verdict === "unreachable";
  const now = new Date();

  const deliveries = await db.$transaction(async (tx) => {
    const claimed = await tx.monitorRun.updateMany({
      where: { monitorId, checkId, settledAt: null },
      data: { settledAt: now, verdict: hasVerdict ? check.verdict : null, changed },
    });
    if (claimed.count === 0) return null;
    const current = await tx.monitor.findUnique({ where: { id: monitorId }, select: { consecutiveFailures: true } });
    if (!current) return null;
    const failures = failure ? current.consecutiveFailures + 1 : 0;
    const delay = failure ? backoffDelayMs(monitor.intervalSeconds * 1000, failures) : null;
    const moved = await tx.monitor.updateMany({
      where: { id: monitorId, lastCheckId: baselineId, consecutiveFailures: current.consecutiveFailures },
      data: {
        lastCheckedAt: now,
        consecutiveFailures: failures,
        backoffUntil: delay === null ? null : new Date(now.getTime() + delay),
        ...(hasVerdict ? { lastCheckId: checkId, lastVerdict: check.verdict } : {}),
        ...(changed ? { lastChangedAt: now } : {}),
      },
    });
    if (moved.count === 0) throw new BaselineMoved();
    return changed ? createDeliveries(tx, monitor, { check, previousCheck: previous, diff }, services.monitors) : [];
  });
  if (deliveries === null) return NOTHING;

  const log = services.log.child({ monitorId, checkId });
  log.info({ verdict: check.verdict, status: check.status, changed, failure, alerts: deliveries.length }, changed ? "monitor saw a change" : "monitor run settled");
  if (deliveries.length > 0) {
    await enqueueDeliveries(services.queue, deliveries, services.monitors).catch((err: unknown) => log.warn({ err }, "could not queue the alerts; the sweep will"));
  }
  return { settled: true, changed, deliveries };
}
