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
import type { ProbeEvent } from "@/lib/probe/types";
import type { Db } from "@/lib/db/create-db";
import type { Logger } from "@/lib/logger";
import { appendToStream, checkStreamKey } from "@/lib/events/check-stream";
import type { CheckServices } from "./services";
import type { CheckStreamEvent } from "./types";
import { planEventWrites, type CheckColumnValue, type PlannedFinishedServer, type PlannedServer } from "./plan-event-writes";
import { encodeStoredEvents } from "./stored-events";
import { serializeEvent, type SerializedEvent } from "./serialize-event";


type RecordServices = Pick<CheckServices, "db" | "redis" | "settings"> & { log?: Logger };

/** Records `event` for check `checkId`; returns its number (the SSE id), or null when the check had already finished. */
export async function recordCheckEvent(services: RecordServices, checkId: string, event: CheckStreamEvent): Promise<number | null> {
  const [seq] = await recordCheckEvents(services, checkId, [event]);
  return seq ?? null;
}

/**
 * Records several events in order, in one statement and one Redis round trip (the worker
 * writes whatever the engine produced while the previous batch was being written). Returns the
 * numbers of the events stored (none when the check had already finished). Throws when
 * PostgreSQL fails; a Redis failure is logged and not thrown (viewers read PostgreSQL).
 * Each event is serialized once (lib/checks/serialize-event.ts): its JSON text goes to the live
 * stream and the stored events, its pieces to the report rows.
 */
export async function recordCheckEvents(services: RecordServices, checkId: string, events: CheckStreamEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const serialized = events.map(serializeEvent);
  const seqs = await storeCheckEvents(services.db, checkId, events, serialized);
  await publishCheckEvents(services, checkId, seqs, serialized.map((s) => s.text));
  return seqs;
}

/** Appends stored events (numbers `seqs`, JSON `texts`) to the check's live stream; a failure is logged, not thrown. */
export async function publishCheckEvents(services: RecordServices, checkId: string, seqs: readonly number[], texts: readonly string[]): Promise<void> {
  if (seqs.length === 0) return;
  try {
    await appendToStream(
      services.redis,
      checkStreamKey(services.settings.redisPrefix, checkId),
      seqs.map((seq, i) => ({ seq, data: texts[i]! })),
      { maxLen: services.settings.streamMaxLen, ttlSeconds: services.settings.streamTtlSeconds },
    );
  } catch (err) {
    services.log?.warn({ checkId, err, events: seqs.length }, "live stream append failed; viewers will read the events from PostgreSQL");
  }
}

export { isTerminalStatus, RESUME_GRACE_MS, serverKeyOf } from "./plan-event-writes";

/**
 * Stores events in one statement (atomic, no transaction round trips) that holds the check's row
 * lock: numbers them after the check's `lastSeq`, applies the batch to the report rows, inserts
 * the batch as one event row. Events at and after a terminal one are stored only while the check
 * is not finished; returns the numbers stored. `serialized`: the events serialized (default: here).
 *
 * The batch's events are folded into the rows they change (lib/checks/plan-event-writes.ts):
 * the check row updated once, servers written as multi-row inserts, the events as one compressed
 * row, whatever the batch's size. A server's row is inserted at `resolved` and completed once at
 * `server-done`, its cases with it (until then they are in the events); a second `server-done`
 * of the same server (a re-check) replaces its report and cases.
 */
export async function storeCheckEvents(db: Db, checkId: string, events: CheckStreamEvent[], serialized: readonly SerializedEvent[] = events.map(serializeEvent)): Promise<number[]> {
  const end = events.findIndex((e) => e.type === "done" || e.type === "failed");
  const kept = end >= 0 ? events.slice(0, end + 1) : events;
  const plan = planEventWrites(kept, serialized);
  const n = kept.length;
  const sets = Object.entries(plan.check).map(([column, value]) => Prisma.sql`, ${Prisma.raw(`"${column}"`)} = ${sqlValue(value)}`);
  const finishedAt = new Date();
  const [row] = await db.$queryRaw<{ before: number | null; found: boolean }[]>`
    WITH locked AS (
      SELECT id, last_seq FROM checks WHERE id = ${checkId} AND status NOT IN ('done', 'failed') FOR UPDATE
    ), numbered AS (
      UPDATE checks SET last_seq = locked.last_seq + ${n}::int ${sets.length > 0 ? Prisma.join(sets, "") : Prisma.empty}
      FROM locked WHERE checks.id = locked.id
      RETURNING locked.last_seq AS before
    ), announced AS (
      ${announceServers(checkId, plan.newServers)}
    ), finished AS (
      ${finishServers(checkId, plan.finishedServers, finishedAt, false)}
    ), reported AS (
      ${finishServers(checkId, plan.reportedServers, finishedAt, true)}
    ), stored AS (
      INSERT INTO check_events (check_id, seq, last_seq, data)
      SELECT ${checkId}, before + 1, before + ${n}::int, ${encodeStoredEvents(kept, serialized.map((s) => s.text))} FROM numbered
    )
    SELECT (SELECT before FROM numbered) AS before, EXISTS (SELECT 1 FROM checks WHERE id = ${checkId}) AS found`;
  if (!row?.found) throw Object.assign(new Error(`no check ${checkId}`), { code: "P2025" });
  if (row.before === null) return [];
  return kept.map((_, i) => row.before! + 1 + i);
}

/** The rows of servers announced by `resolved` (kept if already there). */
function announceServers(checkId: string, servers: PlannedServer[]): Prisma.Sql {
  if (servers.length === 0) return Prisma.sql`SELECT 1`;
  const rows = servers.map((s) => Prisma.sql`(${s.key}, ${s.ordinal}::int, ${s.host}, ${s.ip}, ${s.port}::int)`);
  return Prisma.sql`
      INSERT INTO check_servers (check_id, key, ordinal, host, ip, port)
      SELECT ${checkId}, s.key, s.ordinal, s.host, s.ip, s.port
      FROM numbered, (VALUES ${Prisma.join(rows)}) AS s(key, ordinal, host, ip, port)
      ON CONFLICT (check_id, key) DO NOTHING`;
}

/**
 * The insert-or-complete of finished servers' rows, their JSON values as the event's serialized
 * pieces (query parameters, not serialized again); `onlyUnfinished`: a `done`'s servers, which
 * complete only rows no `server-done` completed (those are left out before their JSON is parsed).
 */
function finishServers(checkId: string, servers: PlannedFinishedServer[], finishedAt: Date, onlyUnfinished: boolean): Prisma.Sql {
  if (servers.length === 0) return Prisma.sql`SELECT 1`;
  const rows = servers.map(
    (s) =>
      Prisma.sql`(${s.key}, ${s.ordinal}::int, ${s.host}, ${s.ip}, ${s.port}::int, ${s.status}, ${s.verdict}, ${s.reason}, ${s.report}::text, ${s.transcript}::text, ${s.cases}::text, ${s.caseOrder}::text[])`,
  );
  return Prisma.sql`
      INSERT INTO check_servers (check_id, key, ordinal, host, ip, port, status, verdict, reason, report, transcript, cases, case_order, finished_at)
      SELECT ${checkId}, s.key, s.ordinal, s.host, s.ip, s.port, s.status, s.verdict, s.reason, s.report::jsonb, s.transcript::jsonb, s.cases, s.case_order, ${finishedAt}::timestamp(3)
      FROM numbered, (VALUES ${Prisma.join(rows)}) AS s(key, ordinal, host, ip, port, status, verdict, reason, report, transcript, cases, case_order)
      ${onlyUnfinished ? Prisma.sql`WHERE NOT EXISTS (SELECT 1 FROM check_servers x WHERE x.check_id = ${checkId} AND x.key = s.key AND x.finished_at IS NOT NULL)` : Prisma.empty}
      ON CONFLICT (check_id, key) DO UPDATE
        SET status = EXCLUDED.status, verdict = EXCLUDED.verdict, reason = EXCLUDED.reason, report = EXCLUDED.report,
            transcript = EXCLUDED.transcript, cases = EXCLUDED.cases, case_order = EXCLUDED.case_order, finished_at = EXCLUDED.finished_at
        ${onlyUnfinished ? Prisma.sql`WHERE check_servers.finished_at IS NULL` : Prisma.empty}`;
}

/** A check column's new value as a query parameter (JSON text as jsonb). */
function sqlValue(value: CheckColumnValue): Prisma.Sql {
  if (value === null) return Prisma.sql`NULL`;
  if (value instanceof Date) return Prisma.sql`${value}::timestamp(3)`;
  if (typeof value === "object") return Prisma.sql`${value.json}::jsonb`;
  return Prisma.sql`${value}`;
}

export type { ProbeEvent };
