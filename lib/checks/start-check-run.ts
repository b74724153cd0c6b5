/**
 * A worker takes a check: in one transaction holding the check's row, it is marked running with
 * a new attempt number and a deadline; a check that was already running (its earlier worker died
 * or lost its job) forgets that run's partial rows, and viewers get an `attempt` event so they
 * start over too. A finished check is left alone.
 */
import type { CheckServices } from "./services";
import { isTerminalStatus, recordCheckEvents } from "./record-check-event";
import type { CheckStreamEvent } from "./types";

/** Time after a worker's own check timeout for its final writes, before the reconciler steps in. */
export const FINISH_MARGIN_MS = 60_000;

export type StartedRun = { started: false; status: string } | { started: true; attempt: number; rerun: boolean; deadlineAt: Date };

export async function startCheckRun(
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log">,
  checkId: string,
  options: { runMs: number },
): Promise<StartedRun> {
  const { db } = services;
  const now = new Date();
  const deadlineAt = new Date(now.getTime() + options.runMs + FINISH_MARGIN_MS);
  const claimed = await db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ status: string; attempt: number }[]>`SELECT status, attempt FROM checks WHERE id = ${checkId} FOR UPDATE`;
    if (!row) return { started: false as const, status: "missing" };
    if (isTerminalStatus(row.status)) return { started: false as const, status: row.status };
    const rerun = row.status === "running" || row.attempt > 0;
    if (rerun) {
      await tx.checkCase.deleteMany({ where: { checkId } });
      await tx.checkServer.deleteMany({ where: { checkId } });
    }
    await tx.check.update({
      where: { id: checkId },
      data: { status: "running", startedAt: now, attempt: row.attempt + 1, deadlineAt, heartbeatAt: now, verdict: null, reason: null },
    });
    return { started: true as const, attempt: row.attempt + 1, rerun, deadlineAt };
  });
  if (!claimed.started) return claimed;
  const events: CheckStreamEvent[] = [];
  if (claimed.rerun) {
    events.push({ type: "attempt", t: 0, attempt: claimed.attempt, reason: "The worker running this check stopped; it starts again from the beginning." });
  }
  events.push({ type: "status", t: 0, status: "running" });
  await recordCheckEvents(services, checkId, events);
  return claimed;
}

/** The running worker's sign of life (see Check.heartbeatAt); a finished check is not touched. */
export async function beatCheckHeart(services: Pick<CheckServices, "db">, checkId: string): Promise<void> {
  await services.db.check.updateMany({ where: { id: checkId, status: "running" }, data: { heartbeatAt: new Date() } });
}
