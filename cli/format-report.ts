import { adviseServer, countCases, describeCounts, DISPLAY_NAMES, groupCases, replyLine, summarizeCheck, summarizeServer, type Advice, type GroupResult } from "../lib/advice";
import { formatFacts, formatListings } from "./format-facts";
import { escapeText, type CaseResult, type CheckReport, type ProbeEvent, type ServerReport, type Verdict } from "../lib/probe";

export const VERDICT_LABEL: Record<Verdict, string> = {
  "open-relay": "OPEN RELAY",
  "not-open-relay": "NOT AN OPEN RELAY",
  inconclusive: "INCONCLUSIVE",
  unreachable: "UNREACHABLE",
};

/** Text a server or DNS chose, made safe for a terminal. */
const e = escapeText;

const COLOR: Record<Verdict, string> = { "open-relay": "31", "not-open-relay": "32", inconclusive: "33", unreachable: "35" };
const OUTCOME_COLOR: Record<CaseResult["outcome"], string> = { accepted: "31", rejected: "32", tempfail: "33", error: "35", skipped: "2" };

interface FormatOptions {
  transcript: boolean;
  color: boolean;
  /** Everything: DNS, facts, every case, every fix in full (the default is the concise report). */
  verbose?: boolean;
  /** Wrap width (default 100). */
  width?: number;
}

type Paint = (code: string, text: string) => string;

/** One line of progress for a live event, or null when the event is not worth a line. */
export function formatProgress(event: ProbeEvent): string | null {
  switch (event.type) {
    case "resolved":
      return `resolved: ${event.servers.length} server(s) to test${event.resolution.refused.length ? `, ${event.resolution.refused.length} refused by policy` : ""}`;
    case "connected":
      return event.session === 1 ? `${event.server}: connected` : null;
    case "case-result":
      return `${event.server}: ${event.result.id} → ${event.result.outcome}${event.result.reply ? ` (${event.result.reply.code})` : ""}`;
    case "server-done":
      return `${event.server}: ${event.report.verdict}`;
    default:
      return null;
  }
}

/**
 * The human report, fix first. By default concise (one server fits in about 30 lines): the
 * verdict and what the servers did, what to do (the steps of every critical fix, the titles of
 * the rest), then one line per group of cases that got the same reply. `verbose` adds the DNS
 * answers, the facts, every case and every fix in full.
 *
 * Every text a server or DNS chose goes through escapeText (`e`) before it reaches the terminal:
 * the report's own fields are escaped by the engine already, but a terminal is where an ESC or a
 * bidi override would do harm, so this printer does not rely on that.
 */
export function formatReport(report: CheckReport, options: FormatOptions): string {
  const paint: Paint = (code, text) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const width = options.width ?? 100;
  // The transcript comes with the whole report.
  options = { ...options, verbose: options.verbose || options.transcript };
  const out: string[] = [];
  const target = report.target.unicode ? `${report.target.name} (${report.target.unicode})` : report.target.name;
  out.push(`${paint(`1;${COLOR[report.verdict]}`, VERDICT_LABEL[report.verdict])}  ${target}`);
  out.push(...wrap(e(summarizeCheck(report.servers, report.reason)), "", width), "");

  if (options.verbose) {
    const r = report.resolution;
    if (r.nullMx) out.push("DNS: null MX (the domain accepts no mail)");
    else if (r.mx.length) out.push(`DNS: MX ${r.mx.map((m) => `${m.preference} ${m.exchange}`).join(", ")}`);
    else if (r.implicitMx) out.push(`DNS: no MX record; the name's own address is used (implicit MX)`);
    for (const x of r.refused) out.push(`Not tested: ${x.host} ${x.ip} port ${x.port}: ${e(x.reason)}`);
    for (const error of r.errors) out.push(`DNS: ${e(error)}`);
    for (const h of r.hosts.filter((h) => h.error)) out.push(`DNS: ${h.host}: ${e(h.error ?? "")}`);
    out.push("");
  } else {
    for (const x of report.resolution.refused) out.push(`Not tested: ${x.host} ${x.ip} port ${x.port}: ${e(x.reason)}`);
    if (report.resolution.refused.length) out.push("");
  }

  const several = report.servers.length > 1;
  const advised = report.servers.map((s) => ({ server: s, advice: adviseServer(s) }));
  for (const { server, advice } of advised) out.push(...formatAdvice(server, advice, several, !!options.verbose, paint, width));
  for (const { server, advice } of advised) {
    out.push(...(options.verbose ? formatServer(server, advice, options, paint, several) : formatServerBrief(server, paint, width, several)), "");
  }
  out.push(
    options.verbose
      ? `Finished in ${(report.durationMs / 1000).toFixed(2)} s. No mail was sent: every session stopped at RCPT TO.`
      : `Finished in ${(report.durationMs / 1000).toFixed(2)} s; no mail was sent. Every case, the facts and each fix in full: --verbose.`,
  );
  return `${out.join("\n")}\n`;
}

const SEVERITY_MARK: Record<"critical" | "warning" | "info", { mark: string; color: string }> = {
  critical: { mark: "[critical]", color: "1;31" },
  warning: { mark: "[warning]", color: "33" },
  info: { mark: "[note]", color: "36" },
};

/** What to do: every item's title; the steps of critical ones (of all, with `verbose`). */
function formatAdvice(s: ServerReport, advice: Advice, several: boolean, verbose: boolean, paint: Paint, width: number): string[] {
  if (!advice.items.length) return [];
  const software = advice.software ? ` (${DISPLAY_NAMES[advice.software.name]}, ${advice.software.confidence} confidence)` : "";
  const out = [paint("1", `What to do${several ? ` on ${s.host} port ${s.port}` : ""}${software}:`)];
  for (const item of advice.items) {
    const sev = SEVERITY_MARK[item.severity];
    const full = verbose || item.severity === "critical";
    out.push(`  ${paint(sev.color, sev.mark)} ${e(item.title)}${item.fix && !full ? " (fix: --verbose)" : ""}`);
    if (verbose) out.push(...wrap(e(item.detail), "    ", width));
    if (item.fix && full) {
      if (verbose) out.push(`    How to fix it on ${item.fix.software}:`);
      item.fix.steps.forEach((step, i) => out.push(...wrap(`${i + 1}. ${step}`, "    ", width, "       ")));
      if (item.fix.docs && verbose) out.push(`    Documentation: ${item.fix.docs}`);
    }
  }
  out.push("");
  return out;
}

const GROUP_WORDS: Record<GroupResult, string> = {
  relayed: "relayed",
  "not-evidence": "accepted, prove nothing (catch-all)",
  tempfail: "deferred (temporary failure)",
  error: "no answer",
  refused: "refused",
  skipped: "not tried",
  "baseline-accepted": "baseline accepted",
  "baseline-refused": "baseline refused",
  "baseline-other": "baseline, no clear answer",
};

const GROUP_COLOR: Partial<Record<GroupResult, string>> = { relayed: "31", "not-evidence": "33", tempfail: "33", error: "35", refused: "32" };

/**
 * One server in a few lines: its verdict (with its summary when the check has several servers:
 * the first lines only sum up the one that matters most), then one line per group of identical
 * replies.
 */
function formatServerBrief(s: ServerReport, paint: Paint, width: number, several: boolean): string[] {
  const where = `${s.host}${s.host === s.ip ? "" : ` [${s.ip}]`} port ${s.port}`;
  const out = [`${paint("1", where)}: ${paint(COLOR[s.verdict], VERDICT_LABEL[s.verdict].toLowerCase())}`];
  if (several) out.push(...wrap(e(summarizeServer(s)), "  ", width));
  const groups = groupCases(s.cases);
  const words = groups.map((g) => `${g.cases.length} ${GROUP_WORDS[g.result]}`);
  const pad = Math.max(0, ...words.map((w) => w.length));
  groups.forEach((g, i) => {
    const reply = g.reply ? `${g.stage === "mail" ? "to MAIL FROM: " : ""}${replyLine(g.reply, 80)}` : "no reply";
    out.push(`  ${paint(GROUP_COLOR[g.result] ?? "2", words[i]!.padEnd(pad))}  ${e(reply)}`);
  });
  out.push(...formatListings(s));
  return out;
}

/** Everything about one server: facts, every case as a table, the software's clues, the transcript. */
function formatServer(s: ServerReport, advice: Advice, options: FormatOptions, paint: Paint, several: boolean): string[] {
  const out: string[] = [];
  const where = `${s.host}${s.host === s.ip ? "" : ` [${s.ip}]`} port ${s.port}`;
  out.push(`${paint("1", where)}: ${paint(COLOR[s.verdict], VERDICT_LABEL[s.verdict].toLowerCase())}`);
  // The summary above already says it for a single server.
  if (several) out.push(`  ${e(summarizeServer(s))}`);
  if (countCases(s.cases).relay) out.push(`  ${describeCounts(countCases(s.cases))}.`);
  if (s.banner !== null) out.push(`  Greeting: ${s.greetingCode} ${e(s.banner.split("\n")[0]!)}`);
  if (s.ehloName) out.push(`  EHLO name: ${e(s.ehloName)}${s.usedHelo ? " (HELO only)" : ""}; extensions: ${e(s.extensions.join(", ")) || "none"}`);
  if (s.tls && !s.tls.error) {
    out.push(`  TLS: ${s.tls.protocol} ${s.tls.cipher}; certificate ${e(s.tls.subject ?? "?")}, issuer ${e(s.tls.issuer ?? "?")}, valid to ${s.tls.validTo ?? "?"}${s.tls.hostnameMatch === false ? ", does not match the host name" : ""}`);
  } else if (s.tls?.error) {
    out.push(`  TLS: failed: ${e(s.tls.error)}`);
  } else if (s.status === "ok") {
    out.push(`  TLS: ${s.starttls.offered ? "offered, not used" : "not offered"}`);
  }
  if (s.ptr.length || s.ptrMatches !== null) out.push(`  PTR: ${e(s.ptr.join(", ")) || "none"}${s.ptrMatches ? " (matches)" : ""}`);
  out.push(...formatFacts(s));
  if (s.cases.length) {
    out.push("");
    const rows = s.cases.map((c) => [
      c.id,
      `<${c.mailFrom}>`,
      `<${c.rcptTo}>`,
      c.outcome + (c.outcome === "accepted" && !c.evidence && c.group !== "baseline" ? "*" : ""),
      e(c.reply ? `${c.stage === "mail" ? "MAIL " : ""}${c.reply.code} ${c.reply.enhanced ?? ""} ${c.reply.text.split("\n")[0]}`.replace(/\s+/g, " ").trim() : (c.note ?? "")),
    ]);
    const header = ["case", "MAIL FROM", "RCPT TO", "outcome", "reply"];
    const widths = header.map((h, i) => Math.min(44, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
    const cell = (text: string, i: number) => (text.length > widths[i]! ? `${text.slice(0, widths[i]! - 1)}…` : text.padEnd(widths[i]!));
    out.push(`  ${header.map((h, i) => (i === 4 ? h : cell(h, i))).join("  ")}`);
    s.cases.forEach((c, n) => {
      const row = rows[n]!;
      const line = row.map((text, i) => (i === 4 ? text : cell(text, i)));
      line[3] = paint(OUTCOME_COLOR[c.outcome], line[3]!);
      out.push(`  ${line.join("  ")}`);
    });
    if (s.cases.some((c) => c.outcome === "accepted" && !c.evidence && c.group !== "baseline")) {
      out.push("  * accepted at one of the server's own domains where it takes any recipient: not proof of relaying");
    }
  }
  if (advice.software) {
    out.push("", `  Software: ${DISPLAY_NAMES[advice.software.name]} (${advice.software.confidence} confidence: ${e(advice.software.evidence.join(" "))})`);
  }
  if (options.transcript) {
    out.push("", "  Transcript:");
    for (const l of s.transcript) out.push(`  ${String(l.session).padStart(2)} ${l.t.toFixed(1).padStart(8)} ms ${l.dir === "client" ? "C:" : l.dir === "server" ? "S:" : "--"} ${e(l.line)}`);
    if (s.transcriptTruncated) out.push("  (transcript truncated)");
  }
  return out;
}

/** Words to lines of at most `width` columns; lines after the first of a paragraph get `hanging`. */
function wrap(text: string, indent: string, width = 100, hanging = indent): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    let lead = indent;
    for (const word of paragraph.split(" ")) {
      if (line && lead.length + line.length + word.length + 1 > width) {
        lines.push(lead + line);
        lead = hanging;
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(lead + line);
  }
  return lines;
}
