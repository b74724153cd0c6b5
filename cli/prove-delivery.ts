/**
 * The CLI's proof by delivery (issue 12), after the probe: one message through each server that
 * accepted a relay case at RCPT (lib/probe/send-proof-message.ts), to an address the operator
 * owns (`--prove-delivery-to`), with a token to look for. With `--sink-listen host:port` the CLI
 * runs the sink itself (lib/sink/run-sink.ts) for the domain of that address, sends to
 * `<token>@<domain>`, waits for the message, and settles the report with what arrived.
 */
import { proofMessageLines, proofSessionInput, sendProofMessage, resolveOptions, type CheckReport, type DeliveryArrival, type DeliveryProof, type ProbeOptionsInput } from "../lib/probe";
import { acceptedCase, newToken, proofRecipient } from "../lib/sink/proof-plan";
import { settledReport } from "../lib/sink/settled-report";

export interface CliProofOptions {
  /** The operator's mailbox, or (with a sink) any address at the domain the sink receives for. */
  to: string;
  /** host:port to run the sink on; null: send to `to` and print the token. */
  sinkListen: { host: string; port: number } | null;
  waitMs: number;
  probe: ProbeOptionsInput;
  /** Progress and tokens for the operator (stderr). */
  say: (line: string) => void;
}

const keyOf = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Parses "host:port" or "[v6]:port". */
export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

export async function proveDeliveryFromCli(report: CheckReport, o: CliProofOptions): Promise<CheckReport> {
  const at = o.to.lastIndexOf("@");
  const local = o.to.slice(0, at);
  const domain = o.to.slice(at + 1).toLowerCase();
  const options = resolveOptions(o.probe);
  const arrivals = new Map<string, DeliveryArrival>();
  const tokens = new Map<string, string>(); // token → server key
  let sink: Awaited<ReturnType<typeof import("../lib/sink/run-sink").runSink>> | null = null;
  let arrived: () => void = () => {};
  const allArrived = new Promise<void>((resolve) => (arrived = resolve));
  if (o.sinkListen) {
    const { runSink } = await import("../lib/sink/run-sink");
    const log = { info: () => {}, warn: () => {}, error: () => {} } as unknown as Parameters<typeof runSink>[0]["log"];
    sink = await runSink({
      ...o.sinkListen,
      sinkDomain: domain,
      hostname: options.ehloName,
      log,
      isLive: async (token) => tokens.has(token) && !arrivals.has(tokens.get(token)!),
      onArrival: async (token, arrival) => {
        const key = tokens.get(token);
        if (!key || arrivals.has(key)) return false;
        arrivals.set(key, arrival);
        o.say(`proof message for ${key} arrived from ${arrival.remoteAddress}`);
        if (arrivals.size === tokens.size) arrived();
        return true;
      },
    });
    o.say(`sink listening on ${sink.address.host}:${sink.address.port} for ${domain}`);
  }
  try {
    const servers = [];
    for (const server of report.servers) {
      const accepted = acceptedCase(server);
      if (!accepted) {
        servers.push(server);
        continue;
      }
      const token = newToken();
      const key = keyOf(server.ip, server.port);
      // With a sink the token is the local part; without, the operator's own address is used as it is.
      const rcptTo = proofRecipient(accepted.rcptTo, { localPart: options.recipientLocalPart, outsideDomain: report.options.recipientDomain, token: o.sinkListen ? token : local, sinkDomain: domain });
      if (!rcptTo) {
        servers.push(server);
        continue;
      }
      const message = proofMessageLines({
        targetName: report.target.name,
        reportUrl: null,
        from: `${options.senderLocalPart}@${report.options.senderDomain}`,
        to: o.sinkListen ? `${token}@${domain}` : o.to,
        messageIdDomain: options.ehloName,
        token,
      });
      const result = await sendProofMessage(proofSessionInput(server, { mailFrom: accepted.mailFrom, rcptTo, message }, options, options.signal));
      const sent = result.outcome === "sent";
      if (sent) tokens.set(token, key);
      o.say(sent ? `proof message sent through ${key} as RCPT TO:<${rcptTo}>; look for the token ${token}` : `proof message not sent through ${key}: ${result.detail}`);
      const proof: DeliveryProof = {
        status: sent ? "sent" : "not-sent",
        caseId: accepted.id,
        mailFrom: accepted.mailFrom,
        rcptTo,
        sentAt: result.sentAt,
        reply: result.reply,
        waitMs: o.sinkListen ? o.waitMs : 0,
        waitUntil: o.sinkListen && sent ? new Date(Date.now() + o.waitMs).toISOString() : null,
        arrival: null,
        delayMs: null,
        detail: sent ? (o.sinkListen ? "sent; waiting for it at the sink" : `sent to ${o.to}; look for the token ${token} there`) : result.detail,
        transcript: result.transcript,
      };
      servers.push({ ...server, proof });
    }
    const withProofs = { ...report, servers };
    if (!o.sinkListen || tokens.size === 0) return withProofs;
    o.say(`waiting up to ${Math.round(o.waitMs / 1000)} s for ${tokens.size === 1 ? "the message" : `${tokens.size} messages`}…`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allArrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, o.waitMs)))]);
    clearTimeout(timer);
    return settledReport(withProofs, arrivals, "final").report;
  } finally {
    await sink?.close();
  }
}
