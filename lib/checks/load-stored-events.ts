/**
 * A check's events from PostgreSQL, numbered, with the reports of `server-done` and `done` put
 * back from the report rows. Events are stored a batch to a row (lib/checks/stored-events.ts);
 * each is parsed with its schema: a damaged one throws AppError `damaged_record` (logged with the
 * check id and the event number).
 */
import type { Db } from "@/lib/db/create-db";
import { damagedRecord } from "./parse-stored";
import { reportOf, serverReportOf } from "./build-check-view";
import { decodeStoredEvents } from "./stored-events";
import type { CheckStreamEvent } from "./types";

export interface NumberedEvent {
  seq: number;
  event: CheckStreamEvent;
}

export const TERMINAL_EVENTS: ReadonlySet<CheckStreamEvent["type"]> = new Set(["done", "failed"]);

/** Event rows read at once (each holds a batch of events). */
const ROWS_PER_READ = 500;

export async function loadStoredEvents(db: Db, checkId: string, afterSeq: number, upToSeq?: number): Promise<NumberedEvent[]> {
  const rows = await db.checkEvent.findMany({
    where: { checkId, lastSeq: { gt: afterSeq }, ...(upToSeq !== undefined ? { seq: { lte: upToSeq } } : {}) },
    orderBy: { seq: "asc" },
    take: ROWS_PER_READ,
  });
  const stored = rows
    .flatMap((row) => decodeStoredEvents(checkId, row.seq, row.lastSeq, row.data))
    .filter(({ seq }) => seq > afterSeq && (upToSeq === undefined || seq <= upToSeq));
  const needsReports = stored.some(({ event }) => event.type === "server-done" || event.type === "done");
  const parts = needsReports ? await loadReportParts(db, checkId) : null;
  return stored.map(({ seq, event }): NumberedEvent => {
    const place = { checkId, what: `check_events.data (seq ${seq})` };
    switch (event.type) {
      case "server-done": {
        const server = parts?.servers.find((s) => s.key === event.server);
        const report = server ? serverReportOf(server, parts!.cases) : null;
        // Written in the same transaction as its event: missing, it was lost or deleted by hand.
        if (!report) throw damagedRecord(place, { server: event.server, problem: "no report row for this server-done" });
        return { seq, event: { type: "server-done", t: event.t, server: event.server, report } };
      }
      case "done":
        if (!parts?.check) throw damagedRecord(place, { problem: "no check row for this done" });
        return { seq, event: { type: "done", t: event.t, report: reportOf(parts.check, parts.servers, parts.cases) } };
      default:
        return { seq, event };
    }
  });
}

/** Whether the check's stored events end with a terminal one (a finished check's last event is its only terminal one). */
export async function hasStoredEnd(db: Db, checkId: string): Promise<boolean> {
  const last = await db.checkEvent.findFirst({ where: { checkId }, orderBy: { seq: "desc" } });
  if (!last) return false;
  const events = decodeStoredEvents(checkId, last.seq, last.lastSeq, last.data);
  return TERMINAL_EVENTS.has(events.at(-1)!.event.type);
}

async function loadReportParts(db: Db, checkId: string) {
  const [check, servers, cases] = await Promise.all([
    db.check.findUnique({ where: { id: checkId } }),
    db.checkServer.findMany({ where: { checkId } }),
    db.checkCase.findMany({ where: { checkId } }),
  ]);
  return { check, servers, cases };
}
