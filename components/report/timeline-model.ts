import type { CaseResult, ServerReport, SessionSummary, TranscriptLine } from "@/lib/probe/types";
import { outcomeLabel, type Tone } from "./labels";

/**
 * One meaning per colour on the time axis: grey for the session's own steps, blue for the
 * baseline tests, green for a refused relay attempt, red for one that relayed, amber for one that
 * proves nothing either way (temporary failure, no answer, an accept at a catch-all domain).
 */
export function caseTone(c: Pick<CaseResult, "group" | "outcome" | "evidence">): Tone {
  if (c.group === "baseline") return "info";
  if (c.outcome === "accepted") return c.evidence ? "danger" : "warn";
  if (c.outcome === "rejected") return "ok";
  return c.outcome === "skipped" ? "neutral" : "warn";
}

export type SegmentKind = "connect" | "greeting" | "ehlo" | "tls" | "case";

export interface Segment {
  kind: SegmentKind;
  label: string;
  start: number;
  end: number;
  tone: Tone;
}

export interface TimelineRow {
  session: SessionSummary;
  segments: Segment[];
}

export interface TimelineModel {
  totalMs: number;
  rows: TimelineRow[];
}

const FINAL_REPLY_LINE = /^\d{3}(?!-)/;

/** Time of the final line of the reply that follows transcript index `i`. */
function replyEnd(lines: TranscriptLine[], i: number): number | null {
  for (let k = i + 1; k < lines.length; k++) {
    const l = lines[k]!;
    if (l.dir === "server" && FINAL_REPLY_LINE.test(l.line)) return l.t;
  }
  return null;
}

/**
 * Lays out one server's conversation on a time axis, from its session summaries, timings and
 * transcript: per session, connect and greeting, EHLO, STARTTLS, then each case at the time its
 * MAIL FROM went out, as long as the case took. Sessions overlap when they ran side by side.
 */
export function buildTimeline(server: ServerReport): TimelineModel {
  const cases = new Map<string, CaseResult>(server.cases.map((c) => [c.id, c]));
  const rows: TimelineRow[] = server.sessions.map((session) => {
    const lines = server.transcript.filter((l) => l.session === session.id).sort((a, b) => a.t - b.t);
    const segments: Segment[] = [];
    const firstServer = lines.find((l) => l.dir === "server");
    const connectEnd = session.id === 1 && server.timings.connectMs != null ? session.startedMs + server.timings.connectMs : null;
    if (connectEnd !== null) {
      segments.push({ kind: "connect", label: "connect", start: session.startedMs, end: connectEnd, tone: "neutral" });
      if (firstServer) segments.push({ kind: "greeting", label: "wait for greeting", start: connectEnd, end: firstServer.t, tone: "neutral" });
    } else if (firstServer) {
      segments.push({ kind: "greeting", label: "connect and greeting", start: session.startedMs, end: firstServer.t, tone: "neutral" });
    }
    let cursor = 0;
    lines.forEach((l, i) => {
      if (l.dir !== "client") return;
      const cmd = l.line.split(" ", 1)[0]!.toUpperCase();
      if (cmd === "EHLO" || cmd === "HELO") {
        segments.push({ kind: "ehlo", label: cmd, start: l.t, end: replyEnd(lines, i) ?? l.t, tone: "neutral" });
      } else if (cmd === "STARTTLS") {
        const nextClient = lines.slice(i + 1).find((x) => x.dir === "client");
        segments.push({ kind: "tls", label: "STARTTLS and handshake", start: l.t, end: nextClient?.t ?? replyEnd(lines, i) ?? l.t, tone: "neutral" });
      }
    });
    let prevEnd = segments.at(-1)?.end ?? session.startedMs;
    for (const id of session.caseIds) {
      const latest = cases.get(id);
      if (!latest) continue;
      // A case re-checked later: this session's try is one of its earlier ones.
      const earlier = latest.session !== session.id ? latest.earlier?.find((a) => a.session === session.id) : undefined;
      const c: CaseResult = earlier ? { ...latest, ...earlier, evidence: false } : latest;
      const prefix = `MAIL FROM:<${c.mailFrom}>`;
      const idx = lines.findIndex((l, k) => k >= cursor && l.dir === "client" && l.line.startsWith(prefix));
      const start = idx >= 0 ? lines[idx]!.t : prevEnd;
      if (idx >= 0) cursor = idx + 1;
      const end = start + (c.durationMs ?? 0);
      segments.push({ kind: "case", label: `${c.title}: ${outcomeLabel(c).label}`, start, end, tone: caseTone(c) });
      prevEnd = end;
    }
    return { session, segments };
  });
  const totalMs = Math.max(server.timings.totalMs, 1, ...server.sessions.map((s) => s.endedMs));
  return { totalMs, rows };
}
