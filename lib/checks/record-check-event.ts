/**
 * Writes one event of a check: its effect on the report rows, the event itself (numbered), then
 * the live stream. PostgreSQL comes first, so whatever a live viewer sees is already stored;
 * an event that reached PostgreSQL but not Redis (a crash in between, or Redis down: the live
 * append is best-effort) is filled in from PostgreSQL by the reader
 * (lib/checks/stream-check-events.ts).
 *
 * A finished check is final: once `done` or `failed` is stored, later events of the check (a
 * worker that lost its job to the reconciler, a retried write) are dropped, so a check has
 * exactly one terminal event.
 */
import { Prisma } from "@/lib/generated/prisma/client";
import type { CaseResult, CheckReport, ProbeEvent, ServerReport } from "@/lib/probe/types";
import type { Db } from "@/lib/db/create-db";
import type { Logger } from "@/lib/logger";
import { appendToStream, checkStreamKey } from "@/lib/events/check-stream";
import type { CheckServices } from "./services";
import type { CheckStreamEvent } from "./types";

type Tx = Prisma.TransactionClient;
type Json = Prisma.InputJsonValue;

const json = (v: unknown): Json => v as Json;

type RecordServices = Pick<CheckServices, "db" | "redis" | "settings"> & { log?: Logger };

/** Records `event` for check `checkId`; returns its number (the SSE id), or null when the check had already finished. */
export async function recordCheckEvent(services: RecordServices, checkId: string, event: CheckStreamEvent): Promise<number | null> {
  const [seq] = await recordCheckEvents(services, checkId, [event]);
  return seq ?? null;
}

/**
 * Records several events in order, in one transaction and one Redis round trip (the worker
 * writes whatever the engine produced while the previous batch was being written). Returns the
 * numbers of the events stored (none when the check had already finished). Throws when
 * PostgreSQL fails; a Redis failure is logged and not thrown (viewers read PostgreSQL).
 */
export async function recordCheckEvents(services: RecordServices, checkId: string, events: CheckStreamEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const seqs = await storeCheckEvents(services.db, checkId, events);
  if (seqs.length === 0) return seqs;
  try {
    await appendToStream(
      services.redis,
      checkStreamKey(services.settings.redisPrefix, checkId),
      seqs.map((seq, i) => ({ seq, data: JSON.stringify(events[i]) })),
      { maxLen: services.settings.streamMaxLen, ttlSeconds: services.settings.streamTtlSeconds },
    );
  } catch (err) {
    services.log?.warn({ checkId, err, events: seqs.length }, "live stream append failed; viewers will read the events from PostgreSQL");
  }
  return seqs;
}

export const isTerminalStatus = (status: string): boolean => status === "done" || status === "failed";

/** How long after its `until` a waiting check may stay unresumed before the reconciler finishes it. */
export const RESUME_GRACE_MS = 5 * 60_000;

/**
 * Stores events in one transaction that holds the check's row lock: numbers them after the
 * check's `lastSeq`, applies each to the report rows, inserts them. Events at and after a
 * terminal one are stored only while the check is not finished; returns the numbers stored.
 */
export async function storeCheckEvents(db: Db, checkId: string, events: CheckStreamEvent[]): Promise<number[]> {
  return db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ status: string; last_seq: number }[]>`SELECT status, last_seq FROM checks WHERE id = ${checkId} FOR UPDATE`;
    if (!row) throw Object.assign(new Error(`no check ${checkId}`), { code: "P2025" });
    if (isTerminalStatus(row.status)) return [];
    const end = events.findIndex((e) => e.type === "done" || e.type === "failed");
    const kept = end >= 0 ? events.slice(0, end + 1) : events;
    const first = row.last_seq + 1;
    const seqs = kept.map((_, i) => first + i);
    await tx.check.update({ where: { id: checkId }, data: { lastSeq: row.last_seq + kept.length } });
    for (const [i, event] of kept.entries()) await applyEvent(tx, checkId, event, seqs[i]!);
    await tx.checkEvent.createMany({
      data: kept.map((event, i) => ({ checkId, seq: seqs[i]!, type: event.type, data: json(storedForm(event)) })),
    });
    return seqs;
  });
}

/**
 * What the events table keeps: `server-done` and `done` without their reports, which the rows
 * already hold (they are put back on replay, lib/checks/load-stored-events.ts).
 */
function storedForm(event: CheckStreamEvent): CheckStreamEvent | { type: string; t: number; server?: string } {
  if (event.type === "server-done") return { type: event.type, t: event.t, server: event.server };
  if (event.type === "done") return { type: event.type, t: event.t };
  return event;
}

async function applyEvent(tx: Tx, checkId: string, event: CheckStreamEvent, seq: number): Promise<void> {
  switch (event.type) {
    case "status":
      if (event.status === "running") await tx.check.update({ where: { id: checkId }, data: { status: "running", startedAt: new Date() } });
      return;
    case "resolved":
      await tx.check.update({ where: { id: checkId }, data: { resolution: json(event.resolution) } });
      await tx.checkServer.createMany({
        data: event.servers.map((s, ordinal) => ({ checkId, key: s.key, ordinal, host: s.host, ip: s.ip, port: s.port })),
        skipDuplicates: true,
      });
      return;
    case "case-result":
      await upsertCase(tx, checkId, event.server, event.result, seq);
      return;
    case "server-done":
      await finishServer(tx, checkId, event.server, event.report);
      return;
    case "done":
      await tx.check.update({
        where: { id: checkId },
        data: { status: "done", finishedAt: new Date(), waiting: Prisma.DbNull, ...reportColumns(event.report) },
      });
      await finishUnannouncedServers(tx, checkId, event.report);
      return;
    case "waiting":
      // A report that is not final yet: stored as `done` stores it, the check left open.
      await tx.check.update({
        where: { id: checkId },
        data: {
          status: "waiting",
          waiting: json(event.wait),
          deadlineAt: new Date(Date.parse(event.wait.until) + RESUME_GRACE_MS),
          ...reportColumns(event.report),
        },
      });
      await finishUnannouncedServers(tx, checkId, event.report);
      return;
    case "resumed":
      await tx.check.update({ where: { id: checkId }, data: { status: "running", waiting: Prisma.DbNull, heartbeatAt: new Date() } });
      return;
    case "delivery":
      // The server's report with its proof: the row moves on (its verdict too); the check's own
      // verdict comes with the `done` that follows.
      await finishServer(tx, checkId, event.server, event.report);
      return;
    case "failed":
      await tx.check.update({
        where: { id: checkId },
        data: { status: "failed", finishedAt: new Date(), waiting: Prisma.DbNull, errorCode: event.error.code, errorMessage: event.error.message },
      });
      return;
    default:
      return; // connected, reply: only the event itself is kept
  }
}

/** The check row's columns of a (final or interim) report. */
function reportColumns(r: CheckReport) {
  return {
    verdict: r.verdict,
    reason: r.reason,
    durationMs: Math.round(r.durationMs),
    probeStartedAt: r.startedAt,
    probeFinishedAt: r.finishedAt,
    options: json(r.options),
    resolution: json(r.resolution),
    schemaVersion: r.schemaVersion,
  };
}

/** Servers the engine never announced with a server-done still belong in the report. */
async function finishUnannouncedServers(tx: Tx, checkId: string, r: CheckReport): Promise<void> {
  const finished = await tx.checkServer.findMany({ where: { checkId, finishedAt: { not: null } }, select: { key: true } });
  const done = new Set(finished.map((f) => f.key));
  for (const [i, s] of r.servers.entries()) {
    if (!done.has(serverKeyOf(s))) await finishServer(tx, checkId, serverKeyOf(s), s, i);
  }
}

export function serverKeyOf(s: Pick<ServerReport, "ip" | "port">): string {
  return s.ip.includes(":") ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`;
}

async function upsertCase(tx: Tx, checkId: string, serverKey: string, result: CaseResult, ordinal: number): Promise<void> {
  const data = { outcome: result.outcome, evidence: result.evidence, result: json(result), ordinal };
  await tx.checkCase.upsert({
    where: { checkId_serverKey_caseId: { checkId, serverKey, caseId: result.id } },
    create: { checkId, serverKey, caseId: result.id, ...data },
    update: data,
  });
}

async function finishServer(tx: Tx, checkId: string, key: string, report: ServerReport, ordinal?: number): Promise<void> {
  const { cases, transcript, ...rest } = report;
  const data = {
    status: report.status,
    verdict: report.verdict,
    reason: report.reason,
    report: json(rest),
    transcript: json(transcript),
    caseOrder: cases.map((c) => c.id),
    finishedAt: new Date(),
  };
  await tx.checkServer.upsert({
    where: { checkId_key: { checkId, key } },
    create: { checkId, key, ordinal: ordinal ?? 1000, host: report.host, ip: report.ip, port: report.port, ...data },
    update: data,
  });
  // Cases came one by one as case-result events; the report's copy is the final word.
  await tx.checkCase.deleteMany({ where: { checkId, serverKey: key } });
  await tx.checkCase.createMany({
    data: cases.map((c, i) => ({ checkId, serverKey: key, caseId: c.id, ordinal: i, outcome: c.outcome, evidence: c.evidence, result: json(c) })),
    skipDuplicates: true,
  });
}

export type { ProbeEvent };
