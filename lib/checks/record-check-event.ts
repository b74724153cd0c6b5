/**
 * Writes one event of a check: its effect on the report rows, the event itself (numbered), then
 * the live stream. PostgreSQL comes first, so whatever a live viewer sees is already stored;
 * an event that reached PostgreSQL but not Redis (a crash in between) is filled in from
 * PostgreSQL by the reader (lib/checks/stream-check-events.ts).
 */
import type { Prisma } from "@/lib/generated/prisma/client";
import type { CaseResult, ProbeEvent, ServerReport } from "@/lib/probe/types";
import type { Db } from "@/lib/db/create-db";
import { appendToStream, checkStreamKey } from "@/lib/events/check-stream";
import type { CheckServices } from "./services";
import type { CheckStreamEvent } from "./types";

type Tx = Prisma.TransactionClient;
type Json = Prisma.InputJsonValue;

const json = (v: unknown): Json => v as Json;

/** Records `event` for check `checkId`; returns its number (the SSE id). */
export async function recordCheckEvent(
  services: Pick<CheckServices, "db" | "redis" | "settings">,
  checkId: string,
  event: CheckStreamEvent,
): Promise<number> {
  const [seq] = await recordCheckEvents(services, checkId, [event]);
  return seq!;
}

/**
 * Records several events in order, in one transaction and one Redis round trip (the worker
 * writes whatever the engine produced while the previous batch was being written).
 */
export async function recordCheckEvents(
  services: Pick<CheckServices, "db" | "redis" | "settings">,
  checkId: string,
  events: CheckStreamEvent[],
): Promise<number[]> {
  if (events.length === 0) return [];
  const seqs = await storeCheckEvents(services.db, checkId, events);
  await appendToStream(
    services.redis,
    checkStreamKey(services.settings.redisPrefix, checkId),
    events.map((e, i) => ({ seq: seqs[i]!, data: JSON.stringify(e) })),
    { maxLen: services.settings.streamMaxLen, ttlSeconds: services.settings.streamTtlSeconds },
  );
  return seqs;
}

export async function storeCheckEvents(db: Db, checkId: string, events: CheckStreamEvent[]): Promise<number[]> {
  return db.$transaction(async (tx) => {
    const { lastSeq } = await tx.check.update({
      where: { id: checkId },
      data: { lastSeq: { increment: events.length } },
      select: { lastSeq: true },
    });
    const first = lastSeq - events.length + 1;
    const seqs = events.map((_, i) => first + i);
    for (const [i, event] of events.entries()) await applyEvent(tx, checkId, event, seqs[i]!);
    await tx.checkEvent.createMany({
      data: events.map((event, i) => ({ checkId, seq: seqs[i]!, type: event.type, data: json(storedForm(event)) })),
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
    case "done": {
      const r = event.report;
      await tx.check.update({
        where: { id: checkId },
        data: {
          status: "done",
          finishedAt: new Date(),
          verdict: r.verdict,
          reason: r.reason,
          durationMs: Math.round(r.durationMs),
          probeStartedAt: r.startedAt,
          probeFinishedAt: r.finishedAt,
          options: json(r.options),
          resolution: json(r.resolution),
          schemaVersion: r.schemaVersion,
        },
      });
      // Servers the engine never announced with a server-done still belong in the report.
      const finished = await tx.checkServer.findMany({ where: { checkId, finishedAt: { not: null } }, select: { key: true } });
      const done = new Set(finished.map((f) => f.key));
      for (const [i, s] of r.servers.entries()) {
        if (!done.has(serverKeyOf(s))) await finishServer(tx, checkId, serverKeyOf(s), s, i);
      }
      return;
    }
    case "failed":
      await tx.check.update({
        where: { id: checkId },
        data: { status: "failed", finishedAt: new Date(), errorCode: event.error.code, errorMessage: event.error.message },
      });
      return;
    default:
      return; // connected, reply: only the event itself is kept
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
