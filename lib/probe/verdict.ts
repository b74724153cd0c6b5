import { escapeText } from "./escape-text";
import { formatReply } from "./reply-parser";
import type { CaseOutcome, CaseResult, ConnectionRateLimit, ConnectionStatus, ServerReport, SmtpReply, Verdict } from "./types";

/** What a reply to MAIL or RCPT says about a case. 421 is handled by the session, not here. */
export function outcomeOf(reply: Pick<SmtpReply, "code">): CaseOutcome {
  if (reply.code >= 200 && reply.code < 300) return "accepted";
  if (reply.code >= 400 && reply.code < 500) return "tempfail";
  if (reply.code >= 500) return "rejected";
  return "error";
}

/**
 * Whether an accepted relay case proves relaying: a recipient that ends in one of the server's
 * own domains proves nothing when the server takes any recipient there (catch-all), or when we
 * could not tell.
 */
export function isEvidence(def: Pick<CaseResult, "group" | "localScope">, outcome: CaseOutcome, catchAll: Record<string, boolean | null>): boolean {
  if (outcome !== "accepted" || def.group === "baseline") return false;
  if (def.localScope === null) return true;
  return catchAll[def.localScope] === false;
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  ok: "the conversation went through",
  refused: "the connection was refused",
  "connect-timeout": "the connection timed out",
  unreachable: "there is no route to the server",
  reset: "the server reset the connection",
  closed: "the server closed the connection",
  timeout: "the server stopped answering",
  "greeting-rejected": "the server refused the session in its greeting",
  "service-unavailable": "the server said it is not available (421)",
  "tls-failed": "the TLS handshake failed",
  "protocol-error": "the server broke the SMTP protocol",
  "policy-refused": "the address is not allowed by the target policy",
  "rate-limited": "relaycheck did not test it: it was probed too often lately",
  aborted: "the check was cancelled",
};

export function describeStatus(status: ConnectionStatus, detail: string | null): string {
  return detail ? `${STATUS_TEXT[status]} (${detail})` : STATUS_TEXT[status];
}

function list(cases: CaseResult[], max = 4): string {
  const ids = cases.slice(0, max).map((c) => c.id);
  return cases.length > max ? `${ids.join(", ")} and ${cases.length - max} more` : ids.join(", ");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * A temporary refusal on policy grounds: 454 with a 4.7.x code ("Delivery not authorized") is
 * what Postfix's default `defer_unauth_destination` answers to relaying ("454 4.7.1 Relay access
 * denied"). A spammer retrying gets the same answer, so it refuses relaying; greylisting uses
 * 450/451 with 4.2.0 or 4.7.1 and passes on the retry, so it stays inconclusive.
 */
export function isPolicyDeferral(reply: Pick<SmtpReply, "code" | "enhanced"> | null): boolean {
  return reply !== null && reply.code === 454 && reply.enhanced !== null && reply.enhanced.startsWith("4.7.");
}

/** "about 2 connections a minute" / "every 5 s"; a period not learned says what is known. */
export function describePace(limit: Pick<ConnectionRateLimit, "allowed" | "periodMs">): string {
  const n = plural(limit.allowed, "connection");
  if (limit.periodMs === null) return `accepted ${n}, then refused new ones (421) for as long as we could wait`;
  return `allows about ${n} ${every(limit.periodMs)}`;
}

function every(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s >= 50 && s <= 70) return "a minute";
  if (s > 90) return `every ${Math.round(s / 60)} minutes`;
  return `every ${s} s`;
}

function after(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s > 90 ? `${Math.round(s / 60)} minutes` : `${s} s`;
}

/** Bad destination address (X.1.2) or null MX (X.1.10): the server refused the test domain itself. */
const DOMAIN_CHECK = /^[45]\.1\.(2|10)$/;

type ServerFacts = Pick<ServerReport, "status" | "statusDetail" | "cases" | "baseline" | "rateLimit">;

/**
 * The verdict on one server from its case results, with a one-sentence reason citing the cases.
 * The reason quotes the server's replies: it passes through escapeText as a whole, so no
 * character a server sent can reorder or hide words of the sentence, whichever part quotes it.
 */
export function serverVerdict(server: ServerFacts): { verdict: Verdict; reason: string } {
  const { verdict, reason } = decideServerVerdict(server);
  return { verdict, reason: escapeText(reason) };
}

/** Order matters: proof of relaying wins; then whatever kept us from a clean answer. */
function decideServerVerdict(server: ServerFacts): { verdict: Verdict; reason: string } {
  // A case whose sender was refused temporarily never reached the relay decision: left out.
  const senderTempfail = server.cases.filter((c) => c.group !== "baseline" && c.notRun === "sender-tempfail");
  const relay = server.cases.filter((c) => c.group !== "baseline" && c.notRun !== "sender-tempfail");
  const ran = relay.filter((c) => c.outcome !== "skipped" && c.outcome !== "error");
  if (ran.length === 0) {
    if (senderTempfail.length > 0) {
      const r = senderTempfail[0]!.reply;
      return {
        verdict: "inconclusive",
        reason: `The server refused our senders temporarily at MAIL FROM (${list(senderTempfail)}; e.g. "${r ? formatReply(r) : "4xx"}"), so no relay case reached RCPT TO; check again later.`,
      };
    }
    if (server.status === "ok" || server.status === "aborted" || server.status === "rate-limited") {
      return { verdict: "inconclusive", reason: `No relay case could be run: ${describeStatus(server.status, server.statusDetail)}.` };
    }
    return { verdict: "unreachable", reason: `Could not test the server: ${describeStatus(server.status, server.statusDetail)}.` };
  }

  const proof = relay.filter((c) => c.evidence);
  if (proof.length > 0) {
    const first = proof[0]!;
    return {
      verdict: "open-relay",
      reason: `The server accepted ${plural(proof.length, "relay attempt")} to an outside domain (${list(proof)}); e.g. RCPT TO:<${first.rcptTo}> got "${first.reply ? formatReply(first.reply) : "accepted"}".`,
    };
  }

  const temp = relay.filter((c) => c.outcome === "tempfail" && !isPolicyDeferral(c.reply));
  const errors = relay.filter((c) => c.outcome === "error");
  const ambiguous = relay.filter((c) => c.outcome === "accepted" && !c.evidence);
  if (temp.length > 0) {
    const r = temp[0]!.reply;
    return {
      verdict: "inconclusive",
      reason: `${plural(temp.length, "case")} got a temporary failure (${list(temp)}; e.g. "${r ? formatReply(r) : "4xx"}"): greylisting or rate limiting; check again in a few minutes.`,
    };
  }
  const limited = errors.filter((c) => c.notRun === "connection-limit");
  if (limited.length > 0 && server.rateLimit) {
    const limit = server.rateLimit;
    const retry = limit.periodMs !== null ? `check again in ${after(limit.periodMs)} or more` : "check again in a few minutes";
    return {
      verdict: "inconclusive",
      reason: `The server ${describePace(limit)}; ${plural(limited.length, "case")} not run (${list(limited)}) within the wait budget: ${retry}.${refusedSoFar(ran)}`,
    };
  }
  if (errors.length > 0) {
    return {
      verdict: "inconclusive",
      reason: `${plural(errors.length, "case")} could not be run (${list(errors)}: ${errors[0]!.note ?? "no reply"}), and none of the others was accepted.`,
    };
  }
  if (ambiguous.length > 0) {
    const scopes = [...new Set(ambiguous.map((c) => c.localScope))].join(", ");
    return {
      verdict: "inconclusive",
      reason: `The server refused plain relaying but accepted ${plural(ambiguous.length, "address trick")} (${list(ambiguous)}) at its own domain ${scopes}, where it accepts any recipient (catch-all); only delivery could tell whether they would be relayed.`,
    };
  }

  const atRcpt = relay.filter((c) => c.stage === "rcpt" && c.localScope === null);
  if (atRcpt.length > 0 && atRcpt.every((c) => c.reply?.enhanced && DOMAIN_CHECK.test(c.reply.enhanced))) {
    return {
      verdict: "inconclusive",
      reason: `The server refused the test recipient domain itself (${atRcpt[0]!.reply!.enhanced}: "${atRcpt[0]!.reply!.text.split("\n")[0]}") before its relay rules showed; check again with a recipient domain that exists.`,
    };
  }
  if (relay.every((c) => c.outcome !== "rejected" || c.stage === "mail") && !server.baseline.senderAccepted) {
    return {
      verdict: "inconclusive",
      reason: "The server refused every sender we tried at MAIL FROM, so relaying was never reached; it may refuse this client only.",
    };
  }
  const refused = relay.filter((c) => c.outcome === "rejected" || c.outcome === "tempfail");
  const sample = refused.find((c) => c.stage === "rcpt" && c.id === "third-party") ?? refused.find((c) => c.stage === "rcpt") ?? refused[0]!;
  const deferred = refused.filter((c) => c.outcome === "tempfail");
  const tail = deferred.length
    ? `; ${deferred.length === refused.length ? "all" : deferred.length} with a temporary policy refusal (454 4.7.x), which a spammer's retry meets again`
    : "";
  const notRun = senderTempfail.length
    ? `; ${plural(senderTempfail.length, "case")} not run because the server refused the sender temporarily at MAIL FROM (${list(senderTempfail)})`
    : "";
  return {
    verdict: "not-open-relay",
    reason: `The server refused all ${plural(refused.length, "relay attempt")} (e.g. ${sample.id}: "${sample.reply ? formatReply(sample.reply) : "rejected"}")${tail}${notRun}.`,
  };
}

/** What the cases that did run showed, when others could not: the plain relay and null sender above all. */
function refusedSoFar(ran: CaseResult[]): string {
  const refused = (c: CaseResult | undefined) => c !== undefined && (c.outcome === "rejected" || (c.outcome === "tempfail" && isPolicyDeferral(c.reply)));
  if (ran.length === 0 || !ran.every(refused)) return "";
  const plain = ran.find((c) => c.id === "third-party");
  const nullSender = ran.find((c) => c.id === "null-sender");
  const all = ran.length === 1 ? "The one case that ran was refused" : `The ${ran.length} cases that ran were refused`;
  return plain && nullSender ? ` ${all}, the plain relay and the null sender among them.` : ` ${all}.`;
}

type ServerOutcome = Pick<ServerReport, "host" | "ip" | "port" | "verdict" | "reason">;

/**
 * The verdict on the whole check, its reason escaped as a whole: it quotes the servers' reasons
 * and a DNS error about the name.
 */
export function checkVerdict(servers: ServerOutcome[], noServersReason: string): { verdict: Verdict; reason: string } {
  const { verdict, reason } = decideCheckVerdict(servers, noServersReason);
  return { verdict, reason: escapeText(reason) };
}

/**
 * One open server makes an open relay; a server we could not judge makes it inconclusive;
 * servers we could not reach are named but do not hide a clean result from the others (a backup
 * MX behind a firewall is common).
 */
function decideCheckVerdict(servers: ServerOutcome[], noServersReason: string): { verdict: Verdict; reason: string } {
  if (servers.length === 0) return { verdict: "unreachable", reason: noServersReason };
  const name = (s: (typeof servers)[number]) => `${s.host}${s.host === s.ip ? "" : ` (${s.ip})`} port ${s.port}`;
  const by = (v: Verdict) => servers.filter((s) => s.verdict === v);
  const open = by("open-relay");
  if (open.length) {
    return { verdict: "open-relay", reason: `${open.length === servers.length && servers.length === 1 ? "" : `${open.length} of ${servers.length} servers relay. `}${name(open[0]!)}: ${open[0]!.reason}`.trim() };
  }
  const unsure = by("inconclusive");
  if (unsure.length) return { verdict: "inconclusive", reason: `${name(unsure[0]!)}: ${unsure[0]!.reason}` };
  const closed = by("not-open-relay");
  const down = by("unreachable");
  if (closed.length === 0) {
    return { verdict: "unreachable", reason: servers.length === 1 ? down[0]!.reason : `None of the ${servers.length} servers could be tested; ${name(down[0]!)}: ${down[0]!.reason}` };
  }
  if (down.length === 0) {
    return {
      verdict: "not-open-relay",
      reason: servers.length === 1 ? `${name(closed[0]!)}: ${closed[0]!.reason}` : `All ${servers.length} servers refused to relay; ${name(closed[0]!)}: ${closed[0]!.reason}`,
    };
  }
  return {
    verdict: "not-open-relay",
    reason: `${closed.length} of ${servers.length} servers refused to relay (${down.length} could not be reached: ${down.map(name).join(", ")}); ${name(closed[0]!)}: ${closed[0]!.reason}`,
  };
}
