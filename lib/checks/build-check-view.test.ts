/**
 * Rows → CheckView: a report stored the way record-check-event.ts stores it comes back whole, and
 * a row damaged in any stored field is refused with AppError `damaged_record`, logged with the
 * check id and where the damage is (never a half-formed view).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Check, CheckCase, CheckServer, Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { checkViewOf, reportOf } from "./build-check-view";
import { checkReportSchema, checkViewSchema } from "./report-schema";
import type { CheckView } from "./types";
import { fixtures, openRelay } from "@/tests/browser/fixtures/reports";

interface Rows {
  check: Check;
  servers: CheckServer[];
  cases: CheckCase[];
}

const json = (value: unknown) => value as Prisma.JsonValue;

/** The rows of a finished view, in the shape record-check-event.ts writes them. */
function rowsOf(view: CheckView): Rows {
  // A cast, not a literal: columns added later (deadlines, attempts) do not matter here.
  const check = {
    id: view.id,
    target: view.target.name,
    targetKind: view.target.kind,
    input: view.target.input,
    targetUnicode: view.target.unicode ?? null,
    targetStripped: view.target.stripped ?? null,
    ports: view.options?.ports ?? [25],
    status: view.status,
    createdAt: new Date(view.createdAt),
    startedAt: view.startedAt ? new Date(view.startedAt) : null,
    finishedAt: view.finishedAt ? new Date(view.finishedAt) : null,
    schemaVersion: view.schemaVersion,
    verdict: view.verdict,
    reason: view.reason,
    durationMs: view.durationMs,
    probeStartedAt: view.startedAt,
    probeFinishedAt: view.finishedAt,
    options: json(view.options),
    resolution: json(view.resolution),
    errorCode: view.error?.code ?? null,
    errorMessage: view.error?.message ?? null,
    clientIpHash: null,
    lastSeq: 0,
  } as Check;
  const servers: CheckServer[] = [];
  const cases: CheckCase[] = [];
  for (const [ordinal, server] of view.servers.entries()) {
    const key = `${server.ip}:${server.port}`;
    const { cases: serverCases, transcript, ...report } = server;
    servers.push({
      checkId: view.id, key, ordinal, host: server.host, ip: server.ip, port: server.port, status: server.status, verdict: server.verdict,
      reason: server.reason, report: json(report), caseOrder: serverCases.map((c) => c.id), transcript: json(transcript), createdAt: new Date(), finishedAt: new Date(),
    } as CheckServer);
    for (const [i, c] of serverCases.entries()) {
      cases.push({ checkId: view.id, serverKey: key, caseId: c.id, ordinal: i, outcome: c.outcome, evidence: c.evidence, result: json(c), createdAt: new Date() } as CheckCase);
    }
  }
  return { check, servers, cases };
}

const view = (rows: Rows) => checkViewOf(rows.check, rows.servers, rows.cases, null);

describe("checkViewOf", () => {
  it.each(Object.entries(fixtures).filter(([, v]) => v.servers.length > 0))("%s: stored rows come back as the same report", (_name, fixture) => {
    const rebuilt = view(rowsOf(fixture));
    expect(rebuilt.servers).toEqual(fixture.servers);
    expect(rebuilt).toMatchObject({ id: fixture.id, status: fixture.status, verdict: fixture.verdict, target: fixture.target, options: fixture.options });
    expect(checkViewSchema.safeParse(rebuilt).error?.issues).toBeUndefined();
  });

  it("builds the engine's report (the CLI's --json schema) from the same rows", () => {
    const rows = rowsOf(openRelay);
    expect(checkReportSchema.safeParse(reportOf(rows.check, rows.servers, rows.cases)).error?.issues).toBeUndefined();
  });
});

describe("a damaged row", () => {
  afterEach(() => vi.restoreAllMocks());

  const damage: [string, string, (rows: Rows) => void][] = [
    ["a server report with an impossible family", "check_servers.report", (r) => ((r.servers[0]!.report as Record<string, unknown>).family = 5)],
    ["a server report without its findings", "check_servers.report", (r) => delete (r.servers[0]!.report as Record<string, unknown>).findings],
    ["a finding id outside the closed set", "check_servers.report", (r) => ((r.servers[0]!.report as { findings: { id: string }[] }).findings[0]!.id = "made-up-finding")],
    ["a transcript that is not a list", "check_servers.transcript", (r) => (r.servers[0]!.transcript = "220 hello")],
    ["a case result without an outcome", "check_cases.result", (r) => delete (r.cases[0]!.result as Record<string, unknown>).outcome],
    ["a case result that is not an object", "check_cases.result", (r) => (r.cases[0]!.result = 42)],
    ["an unknown check status", "checks.status", (r) => (r.check.status = "paused")],
    ["an unknown verdict", "checks.verdict", (r) => (r.check.verdict = "probably-fine")],
    ["an unknown failure code", "checks.error_code", (r) => (r.check.errorCode = "exploded")],
    ["an unknown target kind", "checks.target_kind", (r) => (r.check.targetKind = "url")],
    ["options with a port as text", "checks.options", (r) => (r.check.options = { ports: ["25"], ehloName: "", senderDomain: "", recipientDomain: "" })],
    ["resolution that is an array", "checks.resolution", (r) => (r.check.resolution = [])],
    ["a report schema version this service cannot read", "checks.schema_version", (r) => (r.check.schemaVersion = 99)],
  ];

  it.each(damage)("%s: AppError damaged_record, logged with the check id and the place", (_what, place, spoil) => {
    const logged = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const rows = structuredClone(rowsOf(openRelay));
    spoil(rows);
    let thrown: unknown;
    try {
      view(rows);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ code: "damaged_record" });
    expect((thrown as AppError).message).toContain(openRelay.id);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]![0]).toMatchObject({ checkId: openRelay.id, what: expect.stringContaining(place) });
  });
});
