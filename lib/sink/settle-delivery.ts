/**
 * Ends a check that waits for proof messages (issue 12) with what the sink saw: each server whose
 * message arrived is `open-relay`, "proven: delivered in 3.2 s via …", with the Received chain;
 * a server whose message did not arrive keeps the verdict its RCPT evidence gave, with the wait
 * stated (not arriving proves nothing on its own: queues retry).
 *
 * Called by the sink when a message arrives (`whenArrived`: only a check that is waiting for
 * delivery is ended, and only if something arrived), by the worker right after it entered the
 * wait (a message may have come first: loopback relays take milliseconds), and by the `delivery`
 * follow-up when the wait is over (`final`). The `delivery` events and the `done` go in one
 * transaction: whoever comes second finds the check finished and changes nothing.
 */
import { reportOf } from "@/lib/checks/build-check-view";
import { parseStored } from "@/lib/checks/parse-stored";
import { recordCheckEvents, serverKeyOf } from "@/lib/checks/record-check-event";
import { checkWaitSchema } from "@/lib/checks/report-schema";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckStreamEvent } from "@/lib/checks/types";
import { arrivalsOf } from "./delivery-tokens";
import { settledReport, type SettleMode } from "./settled-report";

export type { SettleMode };

type SettleServices = Pick<CheckServices, "db" | "redis" | "settings" | "log">;


/** Returns true when this call ended the check. */
export async function settleDelivery(services: SettleServices, checkId: string, mode: SettleMode): Promise<boolean> {
  const { db } = services;
  const [check, servers, cases, arrivals] = await Promise.all([
    db.check.findUnique({ where: { id: checkId } }),
    db.checkServer.findMany({ where: { checkId } }),
    db.checkCase.findMany({ where: { checkId } }),
    arrivalsOf(db, checkId),
  ]);
  if (!check) return false;
  if (mode === "whenArrived") {
    if (arrivals.size === 0 || check.status !== "waiting" || !check.waiting) return false;
    const wait = parseStored(checkWaitSchema, check.waiting, { checkId, what: "checks.waiting" });
    if (wait.reason !== "delivery") return false;
  } else if (check.status === "done" || check.status === "failed") {
    return false;
  }
  const report = reportOf(check, servers, cases);
  const { report: settled, changed } = settledReport(report, arrivals, mode);
  const events: CheckStreamEvent[] = [
    ...changed.map((s): CheckStreamEvent => ({ type: "delivery", t: report.durationMs, server: serverKeyOf(s), report: s })),
    { type: "done", t: report.durationMs, report: settled },
  ];
  const seqs = await recordCheckEvents(services, checkId, events);
  return seqs.length > 0;
}

