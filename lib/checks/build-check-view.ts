/**
 * Rows → the API's CheckView and the engine's CheckReport. A check's report is stored in parts
 * (check row, one row per server with its cases and transcript as JSON; the cases of a server
 * not done yet in its case-result events, given here as CheckCase rows by
 * ./load-check-cases.ts) so that it can be written as it comes; these functions put it back together in the engine's shape, parsing every
 * stored value with its schema (./parse-stored.ts): a damaged row throws AppError
 * `damaged_record` here, logged with the check id, instead of reaching a page half-formed.
 */
import { z } from "zod";
import type { Check, CheckCase, CheckServer } from "@/lib/generated/prisma/client";
import type { CaseResult, CheckReport, NormalizedTarget, ResolutionInfo, ServerReport } from "@/lib/probe/types";
import { assertReadableVersion, damagedRecord, parseStored } from "./parse-stored";
import {
  caseResultSchema,
  checkFailureSchema,
  checkStatusSchema,
  checkWaitSchema,
  reportOptionsSchema,
  resolutionInfoSchema,
  storedServerReportSchema,
  targetKindSchema,
  transcriptLineSchema,
  verdictSchema,
} from "./report-schema";
import type { CheckFailure, CheckLinks, CheckView, PendingServer } from "./types";

export type ServerRow = CheckServer & { cases?: CheckCase[] };

const transcriptSchema = z.array(transcriptLineSchema).nullable();
const caseResultsSchema = z.array(caseResultSchema);

export function checkLinks(id: string, target: string): CheckLinks {
  return {
    self: `/api/v1/checks/${id}`,
    events: `/api/v1/checks/${id}/events`,
    html: `/checks/${id}`,
    history: `/api/v1/checks?target=${encodeURIComponent(target)}`,
  };
}

export function targetOf(check: Check): NormalizedTarget {
  const kind = parseStored(targetKindSchema, check.targetKind, { checkId: check.id, what: "checks.target_kind" });
  const t: NormalizedTarget = { input: check.input, kind, name: check.target };
  if (check.targetUnicode) t.unicode = check.targetUnicode;
  if (check.targetStripped) t.stripped = check.targetStripped;
  return t;
}

/** Why the check failed, when it did: its error columns, parsed. */
export function failureOf(check: Check): CheckFailure | null {
  if (!check.errorCode) return null;
  return parseStored(checkFailureSchema, { code: check.errorCode, message: check.errorMessage ?? "" }, { checkId: check.id, what: "checks.error_code" });
}

/** A server's cases: in the report's order once it is done, else in the order they came. */
function casesOf(cases: CheckCase[], serverKey: string, order: string[] = []): CaseResult[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  const position = (c: CheckCase) => rank.get(c.caseId) ?? order.length + c.ordinal;
  return cases
    .filter((c) => c.serverKey === serverKey)
    .sort((a, b) => position(a) - position(b))
    .map((c) => parseStored(caseResultSchema, c.result, { checkId: c.checkId, what: `check_cases.result (${c.serverKey} ${c.caseId})` }));
}

/** A finished server's cases: on its row (JSON text), or as check_cases rows for checks stored before that. */
function finishedCasesOf(row: CheckServer, cases: CheckCase[]): CaseResult[] {
  if (row.cases === null || row.cases === undefined) return casesOf(cases, row.key, row.caseOrder);
  const place = { checkId: row.checkId, what: `check_servers.cases (${row.key})` };
  let values: unknown;
  try {
    values = JSON.parse(row.cases);
  } catch {
    throw damagedRecord(place, { problem: "not JSON" });
  }
  return parseStored(caseResultsSchema, values, place);
}

/** A finished server's report, whole again. */
export function serverReportOf(row: CheckServer, cases: CheckCase[]): ServerReport | null {
  if (!row.report) return null;
  const base = parseStored(storedServerReportSchema, row.report, { checkId: row.checkId, what: `check_servers.report (${row.key})` });
  const transcript = parseStored(transcriptSchema, row.transcript, { checkId: row.checkId, what: `check_servers.transcript (${row.key})` });
  return { ...base, cases: finishedCasesOf(row, cases), transcript: transcript ?? [] };
}

/** The stored report-level parts of a check row. */
function reportPartsOf(check: Check) {
  const place = (what: string) => ({ checkId: check.id, what });
  assertReadableVersion(check.schemaVersion, place("checks.schema_version"));
  return {
    options: parseStored(reportOptionsSchema.nullable(), check.options, place("checks.options")),
    resolution: parseStored(resolutionInfoSchema.nullable(), check.resolution, place("checks.resolution")),
    verdict: parseStored(verdictSchema.nullable(), check.verdict, place("checks.verdict")),
  };
}

function finishedServers(servers: CheckServer[], cases: CheckCase[]): ServerReport[] {
  return [...servers]
    .sort((a, b) => a.ordinal - b.ordinal)
    .map((s) => serverReportOf(s, cases))
    .filter((r): r is ServerReport => r !== null);
}

export function reportOf(check: Check, servers: CheckServer[], cases: CheckCase[]): CheckReport {
  const parts = reportPartsOf(check);
  return {
    schemaVersion: check.schemaVersion,
    target: targetOf(check),
    options: parts.options ?? { ports: check.ports, ehloName: "", senderDomain: "", recipientDomain: "" },
    startedAt: check.probeStartedAt ?? check.startedAt?.toISOString() ?? check.createdAt.toISOString(),
    finishedAt: check.probeFinishedAt ?? check.finishedAt?.toISOString() ?? "",
    durationMs: check.durationMs ?? 0,
    verdict: parts.verdict ?? "inconclusive",
    reason: check.reason ?? "",
    resolution: parts.resolution ?? emptyResolution(),
    servers: finishedServers(servers, cases),
  };
}

function emptyResolution(): ResolutionInfo {
  return { mx: [], implicitMx: false, nullMx: false, hosts: [], refused: [], errors: [], durationMs: 0 };
}

export function checkViewOf(check: Check, servers: CheckServer[], cases: CheckCase[], queuePosition: number | null): CheckView {
  const parts = reportPartsOf(check);
  const pending: PendingServer[] = [...servers]
    .sort((a, b) => a.ordinal - b.ordinal)
    .filter((s) => !s.report)
    .map((s) => ({ key: s.key, host: s.host, ip: s.ip, port: s.port, cases: casesOf(cases, s.key) }));
  return {
    id: check.id,
    status: parseStored(checkStatusSchema, check.status, { checkId: check.id, what: "checks.status" }),
    createdAt: check.createdAt.toISOString(),
    startedAt: check.startedAt?.toISOString() ?? null,
    finishedAt: check.finishedAt?.toISOString() ?? null,
    queuePosition,
    waiting: check.status === "waiting" ? parseStored(checkWaitSchema.nullable(), check.waiting ?? null, { checkId: check.id, what: "checks.waiting" }) : null,
    error: failureOf(check),
    url: `/checks/${check.id}`,
    links: checkLinks(check.id, check.target),
    schemaVersion: check.schemaVersion,
    target: targetOf(check),
    options: parts.options,
    verdict: parts.verdict,
    reason: check.reason ?? null,
    durationMs: check.durationMs ?? null,
    resolution: parts.resolution,
    servers: finishedServers(servers, cases),
    pending,
  };
}
