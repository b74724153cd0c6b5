/**
 * What a batch of a check's events changes in the report rows, folded into one write per row:
 * the check row's columns (the last event that sets a column wins), the servers announced by
 * `resolved`, and the servers finished (`server-done`, and a `done`/`waiting` report's servers
 * that were never announced) with their cases. Case results are not written one by one: until
 * its server is done a case lives in its case-result event, then on the server's row (one
 * compressed JSON array). Pure: lib/checks/record-check-event.ts turns the plan into a few
 * multi-row statements. Its JSON values are the events' own serialized pieces
 * (lib/checks/serialize-event.ts), never serialized again.
 */
import type { CheckReport, ServerReport } from "@/lib/probe/types";
import type { CheckStreamEvent } from "./types";
import type { SerializedEvent, ServerReportText } from "./serialize-event";

export const isTerminalStatus = (status: string): boolean => status === "done" || status === "failed";

/** How long after its `until` a waiting check may stay unresumed before the reconciler finishes it. */
export const RESUME_GRACE_MS = 5 * 60_000;

/** A plain value, or JSON text (stored as jsonb). */
export type CheckColumnValue = string | number | null | Date | { json: string };

export interface PlannedServer {
  key: string;
  ordinal: number;
  host: string;
  ip: string;
  port: number;
}

export interface PlannedFinishedServer extends PlannedServer {
  status: string;
  verdict: string;
  reason: string;
  /** JSON of the ServerReport without `cases` and `transcript`, of its transcript, of its CaseResult[]. */
  report: string;
  transcript: string;
  cases: string;
  caseOrder: string[];
}

export interface EventWritePlan {
  /** Column name (as in the table) → new value. */
  check: Record<string, CheckColumnValue>;
  newServers: PlannedServer[];
  /** Finished by their `server-done`. */
  finishedServers: PlannedFinishedServer[];
  /** Servers of a `done`/`waiting` report: finished by it only where no `server-done` did. */
  reportedServers: PlannedFinishedServer[];
}

export function serverKeyOf(s: Pick<ServerReport, "ip" | "port">): string {
  return s.ip.includes(":") ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`;
}

/**
 * Folds `events` into one write per row; `serialized[i]` is event i serialized.
 */
export function planEventWrites(events: CheckStreamEvent[], serialized: readonly SerializedEvent[]): EventWritePlan {
  const check: Record<string, CheckColumnValue> = {};
  const newServers = new Map<string, PlannedServer>();
  const finished = new Map<string, PlannedFinishedServer>();
  const reported = new Map<string, PlannedFinishedServer>();

  const finishedRow = (key: string, report: ServerReport, text: ServerReportText, ordinal: number): PlannedFinishedServer => ({
    key,
    ordinal: newServers.get(key)?.ordinal ?? ordinal,
    host: report.host,
    ip: report.ip,
    port: report.port,
    status: report.status,
    verdict: report.verdict,
    reason: report.reason,
    report: text.rest,
    transcript: text.transcript,
    cases: text.cases,
    caseOrder: report.cases.map((c) => c.id),
  });

  const finishUnannounced = (report: CheckReport, texts: SerializedEvent) => {
    report.servers.forEach((s, i) => {
      const key = serverKeyOf(s);
      if (!finished.has(key)) reported.set(key, finishedRow(key, s, texts.servers[i]!, i));
    });
  };

  for (const [index, event] of events.entries()) {
    const texts = serialized[index]!;
    switch (event.type) {
      case "status":
        if (event.status === "running") Object.assign(check, { status: "running", started_at: new Date() });
        continue;
      case "resolved":
        check.resolution = { json: texts.columns.resolution! };
        event.servers.forEach((s, ordinal) => {
          if (!newServers.has(s.key)) newServers.set(s.key, { key: s.key, ordinal, host: s.host, ip: s.ip, port: s.port });
        });
        continue;
      case "server-done":
      case "delivery":
        // A `delivery` carries the server's report with its proof: the row moves on (its verdict
        // too); the check's own verdict comes with the `done` that follows.
        reported.delete(event.server);
        finished.set(event.server, finishedRow(event.server, event.report, texts.servers[0]!, 1000));
        continue;
      case "done":
        Object.assign(check, { status: "done", finished_at: new Date(), waiting: null }, reportColumns(event.report, texts));
        finishUnannounced(event.report, texts);
        continue;
      case "waiting":
        // A report that is not final yet: stored as `done` stores it, the check left open.
        Object.assign(
          check,
          { status: "waiting", waiting: { json: texts.columns.wait! }, deadline_at: new Date(Date.parse(event.wait.until) + RESUME_GRACE_MS) },
          reportColumns(event.report, texts),
        );
        finishUnannounced(event.report, texts);
        continue;
      case "resumed":
        Object.assign(check, { status: "running", waiting: null, heartbeat_at: new Date() });
        continue;
      case "failed":
        Object.assign(check, { status: "failed", finished_at: new Date(), waiting: null, error_code: event.error.code, error_message: event.error.message });
        continue;
      default:
        continue; // case-result, connected, reply, attempt and any other type: only the event itself is kept
    }
  }
  return {
    check,
    // A server announced and finished in one batch is inserted once, finished.
    newServers: [...newServers.values()].filter((s) => !finished.has(s.key) && !reported.has(s.key)),
    finishedServers: [...finished.values()],
    reportedServers: [...reported.values()],
  };
}

/** The check row's columns of a (final or interim) report. */
function reportColumns(r: CheckReport, texts: SerializedEvent): Record<string, CheckColumnValue> {
  return {
    verdict: r.verdict,
    reason: r.reason,
    duration_ms: Math.round(r.durationMs),
    probe_started_at: r.startedAt,
    probe_finished_at: r.finishedAt,
    options: { json: texts.columns.options! },
    resolution: { json: texts.columns.resolution! },
    schema_version: r.schemaVersion,
  };
}
