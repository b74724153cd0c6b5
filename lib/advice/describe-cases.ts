/**
 * One server's cases in the words and numbers people read: the counts every view shows (so the
 * banner, the server heading, the advice and the CLI tell the same story), and the cases grouped
 * by identical reply ("17 cases: 554 5.7.1 Relaying denied"). Pure; ids stay in the data, never
 * in a sentence.
 */
import type { CaseOutcome, CaseResult, SmtpReply } from "@/lib/probe/types";

/** The relay attempts of one server, counted once for every view. */
export interface CaseCounts {
  /** Relay cases (baseline excluded), skipped ones included. */
  relay: number;
  /** Relay cases that got an answer (not skipped). */
  ran: number;
  /** Relay cases the server accepted… */
  accepted: number;
  /** …of which prove relaying… */
  evidence: number;
  /** …and of which prove nothing (an address at the server's own catch-all domain). */
  notEvidence: number;
  refused: number;
  tempfail: number;
  errors: number;
  skipped: number;
}

export function countCases(cases: readonly CaseResult[]): CaseCounts {
  const relay = cases.filter((c) => c.group !== "baseline");
  const n = (outcome: CaseOutcome) => relay.filter((c) => c.outcome === outcome).length;
  const accepted = relay.filter((c) => c.outcome === "accepted");
  const evidence = accepted.filter((c) => c.evidence).length;
  return {
    relay: relay.length,
    ran: relay.length - n("skipped"),
    accepted: accepted.length,
    evidence,
    notEvidence: accepted.length - evidence,
    refused: n("rejected"),
    tempfail: n("tempfail"),
    errors: n("error"),
    skipped: n("skipped"),
  };
}

/** "3 cases", "1 case". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The counts as one phrase, e.g. "11 of 20 relay attempts accepted (all 11 prove relaying),
 * 9 refused" or "3 of 19 relay attempts accepted, but they prove nothing (catch-all), 16 refused".
 */
export function describeCounts(k: CaseCounts): string {
  if (k.relay === 0) return "no relay attempt could be made";
  const parts: string[] = [];
  const of = `${k.accepted} of ${plural(k.ran, "relay attempt")} accepted`;
  if (k.accepted === 0) parts.push(`${plural(k.ran, "relay attempt")}: none accepted`);
  else if (k.notEvidence === 0) parts.push(`${of} (${k.accepted === 1 ? "it proves" : k.accepted === 2 ? "both prove" : `all ${k.accepted} prove`} relaying)`);
  else if (k.evidence === 0) parts.push(`${of}, but ${k.accepted === 1 ? "it proves" : "they prove"} nothing (catch-all)`);
  else parts.push(`${of}: ${k.evidence} prove relaying, ${k.notEvidence} prove nothing (catch-all)`);
  if (k.refused) parts.push(`${k.refused} refused`);
  if (k.tempfail) parts.push(`${k.tempfail} deferred (temporary failure)`);
  if (k.errors) parts.push(`${k.errors} without an answer`);
  if (k.skipped) parts.push(`${k.skipped} not tried`);
  return parts.join(", ");
}

// ---------------------------------------------------------------------------------------------
// Grouping by reply

export type GroupResult = "relayed" | "not-evidence" | "refused" | "tempfail" | "error" | "skipped" | "baseline-accepted" | "baseline-refused" | "baseline-other";

export interface CaseGroup {
  /** Stable key: result and reply. */
  key: string;
  result: GroupResult;
  /** The shared reply, with the address each case sent cut out; null when there was none. */
  reply: Pick<SmtpReply, "code" | "enhanced" | "text"> | null;
  /** Where the shared reply came: to MAIL FROM or to RCPT TO. */
  stage: CaseResult["stage"];
  cases: CaseResult[];
}

/** Most telling first: what relayed, what proves nothing, what could not be decided, what was refused, then the baseline. */
const RESULT_ORDER: GroupResult[] = ["relayed", "not-evidence", "tempfail", "error", "refused", "skipped", "baseline-accepted", "baseline-refused", "baseline-other"];

export function groupResult(c: Pick<CaseResult, "group" | "outcome" | "evidence">): GroupResult {
  if (c.group === "baseline") return c.outcome === "accepted" ? "baseline-accepted" : c.outcome === "rejected" ? "baseline-refused" : "baseline-other";
  switch (c.outcome) {
    case "accepted":
      return c.evidence ? "relayed" : "not-evidence";
    case "rejected":
      return "refused";
    default:
      return c.outcome;
  }
}

/**
 * The cases with the same result and the same reply, once the address each case sent is cut out
 * of the reply ("<relaytest@relay-target.invalid>: Relaying denied" → "Relaying denied"). Groups
 * in RESULT_ORDER, the larger first within a result; cases in their own order within a group.
 */
export function groupCases(cases: readonly CaseResult[]): CaseGroup[] {
  const groups = new Map<string, CaseGroup>();
  for (const c of cases) {
    const result = groupResult(c);
    const reply = c.reply ? { code: c.reply.code, enhanced: c.reply.enhanced, text: sharedText(c) } : null;
    const key = `${result}|${c.stage ?? ""}|${reply ? `${reply.code} ${reply.enhanced ?? ""} ${reply.text}` : c.outcome}`;
    const group = groups.get(key);
    if (group) group.cases.push(c);
    else groups.set(key, { key, result, reply, stage: c.stage, cases: [c] });
  }
  return [...groups.values()].sort((a, b) => RESULT_ORDER.indexOf(a.result) - RESULT_ORDER.indexOf(b.result) || b.cases.length - a.cases.length);
}

/** The first line of a case's reply without the addresses it echoes. */
function sharedText(c: CaseResult): string {
  let text = (c.reply?.text ?? "").split("\n")[0]!.trim();
  for (const address of [c.rcptTo, c.mailFrom].filter((a) => a.length > 0)) {
    text = text.split(`<${address}>`).join("\uE000").split(address).join("\uE000");
  }
  // "<addr>: Relaying denied" → "Relaying denied"; an address inside the sentence → "<address>".
  text = text.replace(/^\uE000:?\s*/, "").replace(/\uE000/g, "<address>").trim();
  return text;
}

/** One short line for a reply: "554 5.7.1 Relaying denied". */
export function replyLine(reply: Pick<SmtpReply, "code" | "enhanced" | "text">, max = 120): string {
  const text = reply.text.split("\n")[0]!.replace(/\s+/g, " ").trim();
  const short = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return [String(reply.code), reply.enhanced, short].filter(Boolean).join(" ");
}
