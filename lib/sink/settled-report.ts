/**
 * The report once its proofs by delivery are settled (pure; lib/sink/settle-delivery.ts stores
 * it, the CLI prints it): a server whose message arrived is `open-relay`, "proven: delivered in
 * 3.2 s via …"; one whose message did not keeps its RCPT verdict, with the wait stated.
 */
import type { CheckReport, DeliveryArrival, DeliveryProof, ServerReport } from "../probe/types";

/** "whenArrived": the check ends at the first arrival; "final": the wait is over. */
export type SettleMode = "whenArrived" | "final";

const keyOf = (s: Pick<ServerReport, "ip" | "port">) => (s.ip.includes(":") ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const minutes = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms));

/** The report once the proofs are settled, and the servers whose report changed. Pure. */
export function settledReport(report: CheckReport, arrivals: Map<string, DeliveryArrival>, mode: SettleMode): { report: CheckReport; changed: ServerReport[] } {
  const changed: ServerReport[] = [];
  const delivered: ServerReport[] = [];
  const servers = report.servers.map((s) => {
    const proof = s.proof;
    if (!proof || proof.status !== "sent") return s;
    const arrival = arrivals.get(keyOf(s));
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
