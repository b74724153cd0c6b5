import { adviseServer, DISPLAY_NAMES } from "../lib/advice";
import { formatFacts } from "./format-facts";
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
}

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
 * The human report: the verdict first, then each server, its cases as a table, findings. Every
 * text a server or DNS chose goes through escapeText (`e`) before it reaches the terminal: the
 * report's own fields are escaped by the engine already, but a terminal is where an ESC or a bidi
 * override would do harm, so this printer does not rely on that.
 */
export function formatReport(report: CheckReport, options: FormatOptions): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const out: string[] = [];
  const target = report.target.unicode ? `${report.target.name} (${report.target.unicode})` : report.target.name;
  out.push(`${paint(`1;${COLOR[report.verdict]}`, VERDICT_LABEL[report.verdict])}  ${target}`);
  out.push(e(report.reason), "");

  const r = report.resolution;
  if (r.nullMx) out.push("DNS: null MX (the domain accepts no mail)");
  else if (r.mx.length) out.push(`DNS: MX ${r.mx.map((m) => `${m.preference} ${m.exchange}`).join(", ")}`);
  else if (r.implicitMx) out.push(`DNS: no MX record; the name's own address is used (implicit MX)`);
  for (const x of r.refused) out.push(`Not tested: ${x.host} ${x.ip} port ${x.port}: ${e(x.reason)}`);
  for (const error of r.errors) out.push(`DNS: ${e(error)}`);
  for (const h of r.hosts.filter((h) => h.error)) out.push(`DNS: ${h.host}: ${e(h.error ?? "")}`);
  out.push("");

  for (const server of report.servers) out.push(...formatServer(server, options, paint), "");
  out.push(`Finished in ${(report.durationMs / 1000).toFixed(2)} s. No mail was sent: every session stopped at RCPT TO.`);
  return `${out.join("\n")}\n`;
}

function formatServer(s: ServerReport, options: FormatOptions, paint: (code: string, text: string) => string): string[] {
  const out: string[] = [];
  const where = `${s.host}${s.host === s.ip ? "" : ` [${s.ip}]`} port ${s.port}`;
  out.push(`${paint("1", where)}: ${paint(COLOR[s.verdict], VERDICT_LABEL[s.verdict].toLowerCase())}`);
  out.push(`  ${e(s.reason)}`);
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
  const advice = adviseServer(s);
  if (advice.software) {
    out.push("", `  Software: ${DISPLAY_NAMES[advice.software.name]} (${advice.software.confidence} confidence: ${e(advice.software.evidence.join(" "))})`);
  }
  if (advice.items.length) {
    out.push("", "  Advice:");
    for (const item of advice.items) {
      out.push(`  - [${item.severity}] ${e(item.title)}`, ...wrap(e(item.detail), "      "));
      if (item.fix) {
        out.push(`      How to fix it on ${item.fix.software}:`);
        item.fix.steps.forEach((step, i) => out.push(...wrap(`${i + 1}. ${step}`, "        ")));
        if (item.fix.docs) out.push(`        Documentation: ${item.fix.docs}`);
      }
    }
  }
  if (options.transcript) {
    out.push("", "  Transcript:");
    for (const l of s.transcript) out.push(`  ${String(l.session).padStart(2)} ${l.t.toFixed(1).padStart(8)} ms ${l.dir === "client" ? "C:" : l.dir === "server" ? "S:" : "--"} ${e(l.line)}`);
    if (s.transcriptTruncated) out.push("  (transcript truncated)");
  }
  return out;
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line && indent.length + line.length + word.length + 1 > width) {
        lines.push(indent + line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(indent + line);
  }
  return lines;
}
