/**
 * Rows → the API's CheckView and the engine's CheckReport. A check's report is stored in parts
 * (check row, one row per server, one per case, the transcript as JSON) so that it can be
 * written as it comes; these functions put it back together in the engine's shape.
 */
import type { Check, CheckCase, CheckServer } from "@/lib/generated/prisma/client";
import type { CaseResult, CheckReport, NormalizedTarget, ResolutionInfo, ServerReport, TranscriptLine, Verdict } from "@/lib/probe/types";
import type { CheckLinks, CheckStatus, CheckView, PendingServer } from "./types";

export type ServerRow = CheckServer & { cases?: CheckCase[] };

export function checkLinks(id: string, target: string): CheckLinks {
  return {
    self: `/api/v1/checks/${id}`,
    events: `/api/v1/checks/${id}/events`,
    html: `/checks/${id}`,
    history: `/api/v1/checks?target=${encodeURIComponent(target)}`,
  };
}

export function targetOf(check: Check): NormalizedTarget {
  const t: NormalizedTarget = { input: check.input, kind: check.targetKind as NormalizedTarget["kind"], name: check.target };
  if (check.targetUnicode) t.unicode = check.targetUnicode;
  if (check.targetStripped) t.stripped = check.targetStripped;
  return t;
}

/** A server's cases: in the report's order once it is done, else in the order they came. */
function casesOf(cases: CheckCase[], serverKey: string, order: string[] = []): CaseResult[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  const position = (c: CheckCase) => rank.get(c.caseId) ?? order.length + c.ordinal;
  return cases
    .filter((c) => c.serverKey === serverKey)
    .sort((a, b) => position(a) - position(b))
    .map((c) => c.result as unknown as CaseResult);
}

/** A finished server's report, whole again. */
export function serverReportOf(row: CheckServer, cases: CheckCase[]): ServerReport | null {
  if (!row.report) return null;
  const base = row.report as unknown as Omit<ServerReport, "cases" | "transcript">;
  return {
    ...base,
    cases: casesOf(cases, row.key, row.caseOrder),
    transcript: (row.transcript as unknown as TranscriptLine[] | null) ?? [],
  };
}

export function reportOf(check: Check, servers: CheckServer[], cases: CheckCase[]): CheckReport {
  const ordered = [...servers].sort((a, b) => a.ordinal - b.ordinal);
  return {
    schemaVersion: check.schemaVersion,
    target: targetOf(check),
    options: (check.options as unknown as CheckReport["options"]) ?? { ports: check.ports, ehloName: "", senderDomain: "", recipientDomain: "" },
    startedAt: check.probeStartedAt ?? check.startedAt?.toISOString() ?? check.createdAt.toISOString(),
    finishedAt: check.probeFinishedAt ?? check.finishedAt?.toISOString() ?? "",
    durationMs: check.durationMs ?? 0,
    verdict: (check.verdict as Verdict | null) ?? "inconclusive",
    reason: check.reason ?? "",
    resolution: (check.resolution as unknown as ResolutionInfo | null) ?? emptyResolution(),
    servers: ordered.map((s) => serverReportOf(s, cases)).filter((r): r is ServerReport => r !== null),
  };
}

function emptyResolution(): ResolutionInfo {
  return { mx: [], implicitMx: false, nullMx: false, hosts: [], refused: [], errors: [], durationMs: 0 };
}

export function checkViewOf(check: Check, servers: CheckServer[], cases: CheckCase[], queuePosition: number | null): CheckView {
  const ordered = [...servers].sort((a, b) => a.ordinal - b.ordinal);
  const finished = ordered.map((s) => serverReportOf(s, cases)).filter((r): r is ServerReport => r !== null);
  const pending: PendingServer[] = ordered
    .filter((s) => !s.report)
    .map((s) => ({ key: s.key, host: s.host, ip: s.ip, port: s.port, cases: casesOf(cases, s.key) }));
  return {
    id: check.id,
    status: check.status as CheckStatus,
    createdAt: check.createdAt.toISOString(),
    startedAt: check.startedAt?.toISOString() ?? null,
    finishedAt: check.finishedAt?.toISOString() ?? null,
    queuePosition,
    error: check.errorCode ? { code: check.errorCode, message: check.errorMessage ?? "" } : null,
    url: `/checks/${check.id}`,
    links: checkLinks(check.id, check.target),
    schemaVersion: check.schemaVersion,
    target: targetOf(check),
    options: (check.options as unknown as CheckReport["options"] | null) ?? null,
    verdict: (check.verdict as Verdict | null) ?? null,
    reason: check.reason ?? null,
    durationMs: check.durationMs ?? null,
    resolution: (check.resolution as unknown as ResolutionInfo | null) ?? null,
    servers: finished,
    pending,
  };
}
