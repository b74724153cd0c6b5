/**
 * The proof step of a check (issue 12): only when the check asked for it (checks.prove_delivery)
 * and the service offers it (a sink domain is set), and only for servers that accepted a relay
 * case at RCPT. It holds back the engine's `done`, then per such server:
 *
 * 1. makes a single-use token (one per server per check; at most RELAYCHECK_DELIVERY_PROOFS_PER_DAY
 *    per target and server in 24 h);
 * 2. sends exactly one message in one extra session (lib/probe/send-proof-message.ts): MAIL FROM
 *    the sender the server accepted, RCPT TO the accepted form with its outside address replaced
 *    by `<token>@<sink domain>`, a fixed body;
 * 3. records the server's proof (`delivery` event; the token is never shown).
 * If a message went out, the check waits for it (`enterWait`, reason "delivery"): the sink ends
 * it on arrival, the `delivery` follow-up at the end of the wait. Otherwise the `done` goes out.
 */
import { proofMessageLines, proofSessionInput, sendProofMessage } from "@/lib/probe/send-proof-message";
import { resolveOptions, type CaseResult, type CheckReport, type DeliveryProof, type ProbeOptionsInput, type ServerReport, type TranscriptLine } from "@/lib/probe";
import { enterWait } from "@/lib/checks/wait-check";
import { serverKeyOf } from "@/lib/checks/record-check-event";
import { policyOf } from "@/lib/checks/validate-target";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckStreamEvent, CheckWait } from "@/lib/checks/types";
import type { Check } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/logger";
import { makeDeliveryToken } from "@/lib/sink/delivery-tokens";
import { settleDelivery } from "@/lib/sink/settle-delivery";
import { acceptedCase, proofRecipient } from "@/lib/sink/proof-plan";

export { acceptedCase, proofRecipient };
import type { ResumeHandler } from "./resume-check";

export interface DeliveryProofSettings {
  sinkDomain: string;
  /** How long the check waits for the message. */
  waitMs: number;
  perTargetPerDay: number;
  /** The service's public address: the message links to the report under it. */
  publicUrl: string;
}

export interface DeliveryProofDeps {
  services: Pick<CheckServices, "db" | "redis" | "settings" | "log" | "queue">;
  settings: DeliveryProofSettings;
  /** The engine options of the probe (EHLO name, timeouts…), as the run used them. */
  probe: Omit<ProbeOptionsInput, "addressPolicy" | "ports" | "signal">;
}

interface Writer {
  push(event: CheckStreamEvent): void;
  drain(): Promise<void>;
}

/**
 * The run's event writer, with the proof step before the `done` when the check asked for a proof;
 * the writer itself when it did not (or the service offers none).
 */
export function withDeliveryProof(writer: Writer, deps: DeliveryProofDeps | undefined, check: Pick<Check, "id" | "proveDelivery" | "target">, run: { signal: AbortSignal; log: Logger }): Writer {
  if (!deps || !check.proveDelivery) return writer;
  let held: Extract<CheckStreamEvent, { type: "done" }> | null = null;
  return {
    push(event) {
      if (event.type === "done") held = event;
      else writer.push(event);
    },
    async drain() {
      await writer.drain();
      const done = held;
      held = null;
      if (done) await proveDelivery(writer, deps, check, done, run);
    },
  };
}

async function proveDelivery(writer: Writer, deps: DeliveryProofDeps, check: Pick<Check, "id" | "target">, done: Extract<CheckStreamEvent, { type: "done" }>, run: { signal: AbortSignal; log: Logger }): Promise<void> {
  const { services, settings } = deps;
  const options = resolveOptions({ ...deps.probe, addressPolicy: policyOf(services.settings) });
  const report = done.report;
  const proofs = new Map<string, DeliveryProof>();
  for (const server of report.servers) {
    const accepted = acceptedCase(server);
    if (!accepted) continue; // nothing accepted at RCPT: no proof session, no DATA
    const proof = await proveServer(deps, options, check, report, server, accepted, run);
    if (proof) proofs.set(serverKeyOf(server), proof);
  }
  if (proofs.size === 0) {
    writer.push(done);
    await writer.drain();
    return;
  }
  const servers = report.servers.map((s) => {
    const proof = proofs.get(serverKeyOf(s));
    return proof ? { ...s, proof } : s;
  });
  for (const s of servers) if (s.proof) writer.push({ type: "delivery", t: done.t, server: serverKeyOf(s), report: s });
  const withProofs: CheckReport = { ...report, servers };
  const sent = servers.filter((s) => s.proof?.status === "sent");
  if (sent.length === 0) {
    writer.push({ ...done, report: withProofs });
    await writer.drain();
    return;
  }
  await writer.drain();
  const until = new Date(Date.now() + settings.waitMs);
  const wait: CheckWait = {
    reason: "delivery",
    until: until.toISOString(),
    round: 1,
    servers: sent.map(serverKeyOf),
    message: `Waiting for delivery until ${until.toISOString().slice(11, 19)} UTC: a test message went through ${sent.length === 1 ? "the server" : `${sent.length} servers`} to relaycheck's own mailbox.`,
  };
  const waiting = await enterWait(services, check.id, wait, withProofs, done.t);
  run.log.info({ servers: wait.servers, until: wait.until, waiting }, "proof messages sent; waiting for delivery");
  // A message may have arrived before the wait was stored (a relay on a fast link).
  if (waiting) await settleDelivery(services, check.id, "whenArrived");
}



const mask = (s: string, token: string) => s.split(token).join("<token>");

async function proveServer(
  deps: DeliveryProofDeps,
  options: ReturnType<typeof resolveOptions>,
  check: Pick<Check, "id" | "target">,
  report: CheckReport,
  server: ServerReport,
  accepted: CaseResult,
  run: { signal: AbortSignal; log: Logger },
): Promise<DeliveryProof | null> {
  const { services, settings } = deps;
  const key = serverKeyOf(server);
  const base = { caseId: accepted.id, mailFrom: accepted.mailFrom, waitMs: settings.waitMs, waitUntil: null, arrival: null, delayMs: null, sentAt: null, reply: null };
  const notSent = (rcptTo: string, detail: string, transcript: TranscriptLine[] = []): DeliveryProof => ({ ...base, status: "not-sent", rcptTo, detail, transcript });
  const formOf = (token: string) => proofRecipient(accepted.rcptTo, { localPart: options.recipientLocalPart, outsideDomain: report.options.recipientDomain || options.recipientDomain, token, sinkDomain: settings.sinkDomain });
  if (!formOf("0".repeat(32))) return null; // a form that cannot carry the sink's address (not one this step rebuilds)
  const decision = options.addressPolicy(server.ip, server.port);
  if (!decision.allowed) return notSent(`<token>@${settings.sinkDomain}`, `Not sent: ${decision.reason}`);

  const made = await makeDeliveryToken(services.db, { checkId: check.id, serverKey: key, target: check.target, ttlMs: settings.waitMs + 5 * 60_000, perTargetPerDay: settings.perTargetPerDay });
  if (!made.made) return notSent(`<token>@${settings.sinkDomain}`, `Not sent: ${made.reason}`);
  const rcptTo = formOf(made.token)!;
  const from = `${options.senderLocalPart}@${report.options.senderDomain || options.senderDomain}`;
  const message = proofMessageLines({
    targetName: report.target.name,
    reportUrl: `${settings.publicUrl.replace(/\/+$/, "")}/checks/${check.id}`,
    from,
    to: `${made.token}@${settings.sinkDomain}`,
    messageIdDomain: options.ehloName,
  });
  const result = await sendProofMessage(proofSessionInput(server, { mailFrom: accepted.mailFrom, rcptTo, message }, options, run.signal));
  run.log.info({ server: key, outcome: result.outcome, caseId: accepted.id }, "proof session ended");
  const transcript = result.transcript.map((l) => ({ ...l, line: mask(l.line, made.token) }));
  const shown = mask(rcptTo, made.token);
  if (result.outcome !== "sent") return { ...notSent(shown, mask(result.detail, made.token), transcript), reply: result.reply };
  return {
    ...base,
    status: "sent",
    rcptTo: shown,
    sentAt: result.sentAt,
    reply: result.reply,
    waitUntil: new Date(Date.now() + settings.waitMs).toISOString(),
    detail: `sent; waiting up to ${Math.round(settings.waitMs / 1000)} s for it at relaycheck's own mailbox`,
    transcript,
  };
}

/** The `delivery` follow-up: the wait is over; end the check with what arrived, if anything. */
export function createDeliveryResumeHandler(services: DeliveryProofDeps["services"]): ResumeHandler {
  return async ({ checkId, log }) => {
    const ended = await settleDelivery(services, checkId, "final");
    log.info({ ended }, "wait for delivery over");
  };
}
