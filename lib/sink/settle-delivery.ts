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
import type { CheckReport, DeliveryArrival, DeliveryProof, ServerReport } from "@/lib/probe/types";
import { arrivalsOf } from "./delivery-tokens";

type SettleServices = Pick<CheckServices, "db" | "redis" | "settings" | "log">;

export type SettleMode = "whenArrived" | "final";

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

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const minutes = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms));

/** The report once the proofs are settled, and the servers whose report changed. Pure. */
export function settledReport(report: CheckReport, arrivals: Map<string, DeliveryArrival>, mode: SettleMode): { report: CheckReport; changed: ServerReport[] } {
  const changed: ServerReport[] = [];
  const delivered: ServerReport[] = [];
  const servers = report.servers.map((s) => {
    const proof = s.proof;
    if (!proof || proof.status !== "sent") return s;
    const arrival = arrivals.get(serverKeyOf(s));
    let next: ServerReport;
    if (arrival) {
      const delayMs = proof.sentAt ? Math.max(0, Date.parse(arrival.at) - Date.parse(proof.sentAt)) : null;
      const via = arrival.remoteAddress;
      const detail = `proven: delivered in ${delayMs === null ? "?" : seconds(delayMs)} via ${via}`;
      const settledProof: DeliveryProof = { ...proof, status: "delivered", arrival, delayMs, detail };
      next = {
        ...s,
        verdict: "open-relay",
        reason: `Open relay, ${detail}: a message sent through this server (RCPT TO:<${proof.rcptTo}>) reached relaycheck's own mailbox. The Received lines show its path.`,
        proof: settledProof,
      };
      delivered.push(next);
    } else {
      const cut = mode === "whenArrived";
      const detail = cut
        ? "not delivered by the time another server's proof message arrived (the check ended then)"
        : `not delivered within ${minutes(proof.waitMs)}; not arriving proves nothing on its own (queues retry)`;
      next = { ...s, reason: `${s.reason} Proof by delivery: the message was ${detail}.`, proof: { ...proof, status: "not-delivered", detail } };
    }
    changed.push(next);
    return next;
  });
  let { verdict, reason } = report;
  if (delivered.length > 0) {
    verdict = "open-relay";
    const first = delivered[0]!;
    reason = `Open relay, ${first.proof!.detail}: a test message sent through ${delivered.length === 1 ? `${first.host} (${first.ip})` : `${delivered.length} servers`} reached relaycheck's own mailbox.`;
  } else if (changed.length > 0) {
    reason = `${reason} No proof message arrived within ${minutes(changed[0]!.proof!.waitMs)}; that alone proves nothing (queues retry).`;
  }
  return { report: { ...report, verdict, reason, servers }, changed };
}
