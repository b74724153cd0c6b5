/**
 * The verdict in one or two sentences a mail administrator reads at a glance: what the server
 * did, with the counts and one quoted reply, in human words (case titles and trick names, never
 * case ids). The engine's `reason` stays in the JSON; the pages, the CLI and the advice show this.
 * Pure; text a server sent passes through escapeText.
 */
import { escapeText } from "@/lib/probe/escape-text";
import type { CaseResult, ServerReport, Verdict } from "@/lib/probe/types";
import { classifyCase, KIND_TEXT, ownDomainsOf, ROUTING_KINDS, SENDER_KINDS, type CaseKind } from "./classify-case";
import { countCases, describeCounts, groupCases, plural, replyLine } from "./describe-cases";

export function summarizeServer(server: ServerReport): string {
  return escapeText(summary(server));
}

function summary(server: ServerReport): string {
  const k = countCases(server.cases);
  if (server.verdict === "unreachable" || k.ran === 0) return connectionSummary(server);
  const relay = server.cases.filter((c) => c.group !== "baseline" && c.outcome !== "skipped");
  const quote = (cases: CaseResult[]) => {
    const g = groupCases(cases).sort((a, b) => b.cases.length - a.cases.length)[0];
    return g?.reply ? ` (“${replyLine(g.reply)}”)` : "";
  };
  switch (server.verdict) {
    case "open-relay": {
      const proving = relay.filter((c) => c.outcome === "accepted" && c.evidence);
      const own = ownDomainsOf(server);
      const kinds = new Set(proving.map((c) => classifyCase(c, own)).filter((x): x is CaseKind => x !== null));
      // The counts in the words every view uses (describeCounts), so the stories agree.
      const counts = `${capitalize(describeCounts(k))}.`;
      if (kinds.has("plain")) {
        const plain = proving.find((c) => classifyCase(c, own) === "plain")!;
        return `It relays mail for anyone, e.g. RCPT TO:<${plain.rcptTo}> → ${plain.reply ? replyLine(plain.reply) : "accepted"}. ${counts}`;
      }
      const tricks = ROUTING_KINDS.filter((x) => kinds.has(x)).map((x) => KIND_TEXT[x].title);
      const senders = SENDER_KINDS.filter((x) => kinds.has(x)).map((x) => KIND_TEXT[x].title);
      const what = [tricks.length ? `address tricks (${joinWords(tricks)})` : "", senders.length ? `forged senders (${joinWords(senders)})` : ""].filter(Boolean).join(" and ");
      return `It refuses plain relaying but relays for ${what}. ${counts}`;
    }
    case "not-open-relay": {
      const deferred = k.tempfail ? `; ${k.tempfail} were deferred with a temporary policy refusal, which a spammer's retry meets again` : "";
      // Quote what the plain attempt got: the answer to relaying itself, not to an odd address.
      const plain = relay.filter((c) => c.outcome === "rejected" && classifyCase(c, ownDomainsOf(server)) === "plain");
      return `It refused all ${plural(k.ran, "relay attempt")}${quote(plain.length ? plain : relay.filter((c) => c.outcome === "rejected"))}${deferred}.`;
    }
    case "inconclusive":
      return inconclusiveSummary(server, relay, quote);
  }
}

function inconclusiveSummary(server: ServerReport, relay: CaseResult[], quote: (cases: CaseResult[]) => string): string {
  const k = countCases(server.cases);
  if (k.tempfail) {
    const temp = relay.filter((c) => c.outcome === "tempfail");
    return `It deferred ${k.tempfail} of ${plural(k.ran, "relay attempt")} with a temporary failure${quote(temp)}: greylisting or a rate limit. Check again in a few minutes.`;
  }
  if (!server.baseline.senderAccepted && relay.every((c) => c.stage !== "rcpt")) {
    return `It refused our sender at MAIL FROM${quote(relay)}, so its relay rules were never reached.`;
  }
  if (k.errors) {
    const note = relay.find((c) => c.outcome === "error" && c.note)?.note;
    return `${plural(k.errors, "relay attempt")} of ${k.ran} got no answer${note ? ` (${note})` : ""}, and it accepted none of the others.`;
  }
  if (k.notEvidence) {
    return `It refused plain relaying but accepted ${plural(k.notEvidence, "address trick")} at its own domain, where it takes any recipient (catch-all): those accepts prove nothing either way.`;
  }
  const atRcpt = relay.filter((c) => c.stage === "rcpt" && c.localScope === null);
  if (atRcpt.length && atRcpt.every((c) => c.reply?.enhanced && /^[45]\.1\.(2|10)$/.test(c.reply.enhanced))) {
    return `It refused the test recipient's domain itself${quote(atRcpt)} before its relay rules could show.`;
  }
  return server.reason;
}

/** What happened when no relay attempt could be made, as a mail administrator would say it. */
function connectionSummary(server: ServerReport): string {
  const port = `port ${server.port}`;
  const refusal = refusalReply(server);
  switch (server.status) {
    case "greeting-rejected":
      return `It refused our connection in its greeting${refusal ? `: “${refusal}”` : ""}. No relay test could be made.`;
    case "service-unavailable":
      return `It turned us away with 421${refusal ? `: “${refusal}”` : ""}. No relay test could be made.`;
    case "refused":
      return `Nothing accepted a connection on ${port} of ${server.ip} (connection refused).`;
    case "connect-timeout":
      return `No answer to the connection attempt on ${port} of ${server.ip}: a firewall drops it, or the host is down.`;
    case "unreachable":
      return `The network has no route to ${server.ip}.`;
    case "policy-refused":
      return `Not tested: ${server.ip} is not a public address.`;
    case "rate-limited":
      return `Not tested this time: ${server.ip} was probed too often lately${server.statusDetail ? ` (${server.statusDetail})` : ""}.`;
    case "timeout":
      return `It accepted the connection on ${port}, then stopped answering.`;
    case "reset":
    case "closed":
      return `It cut the connection before any relay test could be made${server.statusDetail ? ` (${server.statusDetail})` : ""}.`;
    case "tls-failed":
      return `The TLS handshake on ${port} failed${server.statusDetail ? ` (${server.statusDetail})` : ""}.`;
    case "protocol-error":
      return `Something other than a mail server answers on ${port}${server.statusDetail ? ` (${server.statusDetail})` : ""}.`;
    case "aborted":
      return "The check was cancelled before this server was tested.";
    case "ok":
      return server.reason;
  }
}

/**
 * The reply a server refused us with (a 554 greeting, a 421), as it came: the first server lines
 * of the first session, else the engine's status detail. Null when the server said nothing.
 */
export function refusalReply(server: Pick<ServerReport, "status" | "statusDetail" | "transcript">): string | null {
  if (server.status !== "greeting-rejected" && server.status !== "service-unavailable") return null;
  const said = server.transcript.filter((l) => l.session === 1 && l.dir === "server").map((l) => l.line);
  const reply: string[] = [];
  for (const line of said) {
    reply.push(line.replace(/^(\d{3})[ -]/, reply.length ? "" : "$1 "));
    if (/^\d{3}(?!-)/.test(line)) break;
  }
  // Only a refusal counts: a 2xx line is a greeting, not what turned us away.
  const text = /^[45]/.test(reply[0] ?? "") ? reply.join(" ").replace(/\s+/g, " ").trim() : "";
  return escapeText(text || server.statusDetail || "") || null;
}

const VERDICT_RANK: Record<Verdict, number> = { "open-relay": 0, inconclusive: 1, "not-open-relay": 2, unreachable: 3 };

/**
 * The whole check in one or two sentences: one server's summary, or with several servers how
 * many relay and the summary of the one that matters most. `fallback` (the engine's reason) when
 * no server was tested at all (a DNS failure, a null MX).
 */
export function summarizeCheck(servers: ServerReport[], fallback: string | null): string {
  if (servers.length === 0) return fallback ?? "";
  if (servers.length === 1) return summarizeServer(servers[0]!);
  const worst = [...servers].sort((a, b) => VERDICT_RANK[a.verdict] - VERDICT_RANK[b.verdict])[0]!;
  const count = (v: Verdict) => servers.filter((s) => s.verdict === v).length;
  const n = servers.length;
  const lead =
    count("open-relay") > 0
      ? `${count("open-relay")} of ${n} servers relay.`
      : count("inconclusive") > 0
        ? `${count("inconclusive")} of ${n} servers could not be judged.`
        : count("not-open-relay") === n
          ? `All ${n} servers refused to relay.`
          : count("not-open-relay") > 0
            ? `${count("not-open-relay")} of ${n} servers refused to relay; ${count("unreachable")} could not be tested.`
            : `None of the ${n} servers could be tested.`;
  const name = worst.host === worst.ip ? worst.ip : worst.host;
  return `${lead} ${escapeText(name)}: ${summarizeServer(worst)}`;
}

function capitalize(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}
