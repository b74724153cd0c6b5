/**
 * What a batch of a check's events changes in the report rows, folded into one write per row:
 * the check row's columns (the last event that sets a column wins), the servers announced by
 * `resolved`, the servers finished (`server-done`, and a `done`/`waiting` report's servers that
 * were never announced), the case rows to write and, per finished server, the cases its report
 * keeps. Pure: lib/checks/record-check-event.ts turns the plan into a few multi-row statements.
 */
import type { CaseResult, CheckReport, ServerReport } from "@/lib/probe/types";
import type { CheckStreamEvent } from "./types";

export const isTerminalStatus = (status: string): boolean => status === "done" || status === "failed";

/** How long after its `until` a waiting check may stay unresumed before the reconciler finishes it. */
export const RESUME_GRACE_MS = 5 * 60_000;

export type CheckColumnValue = string | number | null | Date | { json: unknown };

export interface PlannedServer {
  key: string;
  ordinal: number;
  host: string;
  ip: string;
  port: number;
}

export interface PlannedCase {
  server_key: string;
  case_id: string;
  ordinal: number;
  outcome: string;
  evidence: boolean;
  result: CaseResult;
}

export interface PlannedFinishedServer extends PlannedServer {
  status: string;
  verdict: string;
  reason: string;
  /** The ServerReport without `cases` and `transcript`. */
  report: Omit<ServerReport, "cases" | "transcript">;
  transcript: ServerReport["transcript"];
  case_order: string[];
}

export interface EventWritePlan {
  /** Column name (as in the table) → new value. */
  check: Record<string, CheckColumnValue>;
  newServers: PlannedServer[];
  /** Per server finished in this batch: the case ids its report keeps (others are deleted). */
  caseSets: { key: string; keep: string[] }[];
  cases: PlannedCase[];
  finishedServers: PlannedFinishedServer[];
}

export function serverKeyOf(s: Pick<ServerReport, "ip" | "port">): string {
  return s.ip.includes(":") ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`;
}

/**
 * Folds `events` (numbered from `firstSeq`) into one write per row. `finishedBefore`: the servers
 * already finished in the database (needed only when the batch has a `done` or `waiting`).
 */
export function planEventWrites(events: CheckStreamEvent[], firstSeq: number, finishedBefore: ReadonlySet<string>): EventWritePlan {
  const check: Record<string, CheckColumnValue> = {};
  const newServers = new Map<string, PlannedServer>();
  const cases = new Map<string, PlannedCase>();
  const finished = new Map<string, PlannedFinishedServer>();
  const caseSets = new Map<string, string[]>();

  const finishServer = (key: string, report: ServerReport, ordinal: number) => {
    const { cases: reportCases, transcript, ...rest } = report;
    finished.set(key, {
      key,
      ordinal: newServers.get(key)?.ordinal ?? ordinal,
      host: report.host,
      ip: report.ip,
      port: report.port,
      status: report.status,
      verdict: report.verdict,
      reason: report.reason,
      report: rest,
      transcript,
      case_order: reportCases.map((c) => c.id),
    });
    // The report's cases are the final word: those gone from it are deleted, the others
    // written where they differ from what is stored (by the database: same result, no write).
    for (const [id, c] of cases) if (c.server_key === key) cases.delete(id);
    caseSets.set(key, reportCases.map((c) => c.id));
    reportCases.forEach((c, i) => cases.set(`${key} ${c.id}`, caseRow(key, c, i)));
  };

  const finishUnannounced = (report: CheckReport) => {
    report.servers.forEach((s, i) => {
      const key = serverKeyOf(s);
      if (!finishedBefore.has(key) && !finished.has(key)) finishServer(key, s, i);
    });
  };

  events.forEach((event, i) => {
    const seq = firstSeq + i;
    switch (event.type) {
      case "status":
        if (event.status === "running") Object.assign(check, { status: "running", started_at: new Date() });
        return;
      case "resolved":
        check.resolution = { json: event.resolution };
        event.servers.forEach((s, ordinal) => {
          if (!newServers.has(s.key)) newServers.set(s.key, { key: s.key, ordinal, host: s.host, ip: s.ip, port: s.port });
        });
        return;
      case "case-result": {
        const id = `${event.server} ${event.result.id}`;
        cases.set(id, caseRow(event.server, event.result, cases.get(id)?.ordinal ?? seq));
        return;
      }
      case "server-done":
        finishServer(event.server, event.report, 1000);
        return;
      case "done":
        Object.assign(check, { status: "done", finished_at: new Date(), waiting: null }, reportColumns(event.report));
        finishUnannounced(event.report);
        return;
      case "waiting":
        // A report that is not final yet: stored as `done` stores it, the check left open.
        Object.assign(
          check,
          { status: "waiting", waiting: { json: event.wait }, deadline_at: new Date(Date.parse(event.wait.until) + RESUME_GRACE_MS) },
          reportColumns(event.report),
        );
        finishUnannounced(event.report);
        return;
      case "resumed":
        Object.assign(check, { status: "running", waiting: null, heartbeat_at: new Date() });
        return;
      case "failed":
        Object.assign(check, { status: "failed", finished_at: new Date(), waiting: null, error_code: event.error.code, error_message: event.error.message });
        return;
      default:
        return; // connected, reply, attempt and any other type: only the event itself is kept
    }
  });
  return {
    check,
    // A server announced and finished in one batch is inserted once, finished.
    newServers: [...newServers.values()].filter((s) => !finished.has(s.key)),
    caseSets: [...caseSets].map(([key, keep]) => ({ key, keep })),
    cases: [...cases.values()],
    finishedServers: [...finished.values()],
  };
}

function caseRow(serverKey: string, result: CaseResult, ordinal: number): PlannedCase {
  return { server_key: serverKey, case_id: result.id, ordinal, outcome: result.outcome, evidence: result.evidence, result };
}

/** The check row's columns of a (final or interim) report. */
function reportColumns(r: CheckReport): Record<string, CheckColumnValue> {
  return {
    verdict: r.verdict,
    reason: r.reason,
    duration_ms: Math.round(r.durationMs),
    probe_started_at: r.startedAt,
    probe_finished_at: r.finishedAt,
    options: { json: r.options },
    resolution: { json: r.resolution },
    schema_version: r.schemaVersion,
  };
}
