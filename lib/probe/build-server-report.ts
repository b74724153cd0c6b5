import { UNQUALIFIED_SCOPE, addressLiteral } from "./cases";
import { serverFindings } from "./findings";
import { hasExtension, type Opening } from "./open-session";
import { isHostName, type ServerTarget } from "./resolve-target";
import type { SessionError } from "./smtp-session";
import type { Transcript } from "./transcript";
import { isEvidence, isPolicyDeferral, serverVerdict } from "./verdict";
import type { CaseDefinition, CaseResult, ConnectionRateLimit, ConnectionStatus, NormalizedTarget, ServerReport, SessionSummary, TlsInfo } from "./types";

/** Everything one server's probe saw, gathered as it goes; the report is built from it at the end. */
export interface ServerRecord {
  server: ServerTarget;
  target: NormalizedTarget;
  /** performance.now() when this server's probe started. */
  started: number;
  transcript: Transcript;
  sessions: SessionSummary[];
  /** Results by case id, as they come. */
  results: Map<string, CaseResult>;
  /** Case ids in the order they were defined: the report's order. */
  catalogue: string[];
  /** The first session's opening (its facts describe the server), or null if none opened. */
  first: Opening | null;
  firstFailure: SessionError | null;
  /** A failed TLS handshake, kept even when plaintext sessions then worked. */
  tlsFailure: TlsInfo | null;
  /** The server demanded STARTTLS (530) before MAIL. */
  starttlsRequired: boolean;
  /** Whether the sender search ended, and the sender it found (null: every one refused). */
  senderChecked: boolean;
  sender: string | null;
  /** What the probe learned of a connection rate limit, if the server had one. */
  rateLimit?: ConnectionRateLimit;
}

/**
 * The server's own name for the cases and the baseline: the MX host for a domain target; for an
 * IP target the EHLO or greeting name, a confirmed PTR name, else the address literal.
 */
export function serverNameOf(record: Pick<ServerRecord, "target" | "server" | "first">): string {
  const { target, server, first } = record;
  if (target.kind === "domain") return server.host;
  const ehloName = first ? firstWord(first.ehlo.text) : null;
  const greetName = first ? firstWord(first.greeting.text) : null;
  return [ehloName, greetName, server.confirmedPtr[0]].find((n): n is string => !!n && isHostName(n)) ?? addressLiteral(server.ip);
}

/** The own domain the baseline addresses: the checked domain, else the server's name. */
export function ownDomainOf(record: Pick<ServerRecord, "target" | "server" | "first">): string {
  return record.target.kind === "domain" ? record.target.name : serverNameOf(record);
}

/** A case result with its evidence and note decided from what the baseline showed so far. */
export function judgeCase(result: CaseResult, results: Iterable<CaseResult>): CaseResult {
  const catchAll = catchAllByScope(results);
  const evidence = isEvidence(result, result.outcome, catchAll);
  let note = result.note;
  if (result.outcome === "accepted" && result.group !== "baseline" && !evidence) {
    const scope = result.localScope === UNQUALIFIED_SCOPE ? "unqualified recipients" : result.localScope;
    note = catchAll[result.localScope ?? ""] === true
      ? `Not proof of relaying: the server accepts any recipient at ${scope} (catch-all).`
      : `Not proof of relaying: we could not tell whether the server accepts any recipient at ${scope}.`;
  }
  if (result.outcome === "tempfail" && isPolicyDeferral(result.reply)) {
    note = "A temporary refusal on policy grounds (Postfix's defer_unauth_destination answers so): relaying is refused, and a retry meets the same answer.";
  }
  return { ...result, evidence, note };
}

/** Per own-domain scope: does the server accept a random recipient there (catch-all)? */
export function catchAllByScope(results: Iterable<CaseResult>): Record<string, boolean | null> {
  const map: Record<string, boolean | null> = {};
  for (const r of results) {
    if (r.group !== "baseline" || r.id === "baseline-postmaster" || r.localScope === null) continue;
    map[r.localScope] = r.outcome === "accepted" ? true : r.outcome === "rejected" ? false : null;
  }
  return map;
}

export function skippedCase(def: CaseDefinition, note: string): CaseResult {
  return { ...def, outcome: "skipped", stage: null, reply: null, mailReply: null, evidence: false, note, session: null, tls: false, durationMs: null, attempts: 0 };
}

/** The server's report: its facts from the first session, the judged cases, the verdict, findings. */
export function buildServerReport(record: ServerRecord, cancelled: boolean): ServerReport {
  const { server, first, firstFailure } = record;
  const results = [...record.results.values()];
  const catchAll = catchAllByScope(results);
  const cases = results.map((r) => judgeCase(r, results));
  // No session at all and no failure: the check was cancelled (or out of time) before it began.
  const status: ConnectionStatus = first ? "ok" : (firstFailure?.status ?? (cancelled ? "aborted" : "timeout"));
  const statusDetail = first
    ? null
    : (firstFailure?.message ?? (cancelled ? "the check was cancelled before this server was tested" : "the time budget ran out before this server was tested"));
  const names = first ? [firstWord(first.ehlo.text), firstWord(first.greeting.text), server.host].filter((n): n is string => !!n) : [server.host];
  const base = {
    status,
    statusDetail,
    cases: cases.sort((a, b) => record.catalogue.indexOf(a.id) - record.catalogue.indexOf(b.id)),
    baseline: {
      sender: record.sender,
      senderAccepted: record.sender !== null,
      ownDomain: first || record.senderChecked ? ownDomainOf(record) : null,
      catchAll,
    },
    ...(record.rateLimit ? { rateLimit: record.rateLimit } : {}),
  };
  const { verdict, reason } = serverVerdict(base);
  const report: ServerReport = {
    host: server.host,
    ip: server.ip,
    family: server.family,
    port: server.port,
    mxPreference: server.mxPreference,
    ptr: server.ptr,
    ptrMatches: server.ptrError ? null : server.confirmedPtr.some((n) => names.includes(n)),
    ...base,
    verdict,
    reason,
    banner: first ? first.greeting.text : null,
    greetingCode: first?.greeting.code ?? null,
    ehloName: first ? firstWord(first.ehlo.text) : null,
    usedHelo: first?.usedHelo ?? false,
    extensions: first?.extensions ?? [],
    pipelining: first ? hasExtension(first.extensions, "PIPELINING") : false,
    size: first ? sizeOf(first.extensions) : null,
    auth: first ? authOf(first) : { mechanisms: [], offeredBeforeTls: false },
    starttls: { offered: first?.starttlsOffered ?? false, required: record.starttlsRequired },
    tls: first?.tls ?? record.tlsFailure,
    findings: [],
    timings: {
      connectMs: first ? round(first.timings.connectMs) : null,
      greetingMs: first ? round(first.timings.greetingMs) : null,
      ehloMs: first ? round(first.timings.ehloMs) : null,
      tlsMs: first?.timings.tlsMs != null ? round(first.timings.tlsMs) : null,
      totalMs: round(performance.now() - record.started),
    },
    sessions: record.sessions,
    transcript: record.transcript.lines,
    transcriptTruncated: record.transcript.truncated,
  };
  report.findings = serverFindings(report);
  return report;
}

function firstWord(text: string): string | null {
  const word = text.split(/\s+/)[0]?.toLowerCase().replace(/\.$/, "") ?? "";
  return word || null;
}

function authOf(opening: Opening): ServerReport["auth"] {
  const mechanisms = (exts: string[]) =>
    exts.filter((e) => /^AUTH[ =]/i.test(e)).flatMap((e) => e.slice(5).trim().split(/\s+/)).map((m) => m.toUpperCase());
  const plain = mechanisms(opening.plainExtensions);
  const all = [...new Set([...mechanisms(opening.extensions), ...plain])];
  // Offered in a session not (yet) protected by TLS: passwords could cross in clear.
  const plainSession = opening.tls === null || opening.tls.mode !== "implicit";
  return { mechanisms: all, offeredBeforeTls: plainSession && plain.length > 0 };
}

function sizeOf(extensions: string[]): number | null {
  const ext = extensions.find((e) => /^SIZE\b/i.test(e));
  if (!ext) return null;
  const n = Number(ext.split(/\s+/)[1]);
  return Number.isFinite(n) ? n : null;
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
