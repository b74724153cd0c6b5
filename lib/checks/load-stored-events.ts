/**
 * A check's events from PostgreSQL, numbered, with the reports of `server-done` and `done` put
 * back from the report rows. Each stored event is parsed with its schema: a damaged row throws
 * AppError `damaged_record` (logged with the check id and the event number).
 */
import type { Db } from "@/lib/db/create-db";
import { damagedRecord, parseStored } from "./parse-stored";
import { reportOf, serverReportOf } from "./build-check-view";
import { storedEventSchema } from "./report-schema";
import type { CheckStreamEvent } from "./types";

export interface NumberedEvent {
  seq: number;
  event: CheckStreamEvent;
}

export const TERMINAL_EVENTS: ReadonlySet<CheckStreamEvent["type"]> = new Set(["done", "failed"]);

export async function loadStoredEvents(db: Db, checkId: string, afterSeq: number, upToSeq?: number): Promise<NumberedEvent[]> {
  const rows = await db.checkEvent.findMany({
    where: { checkId, seq: { gt: afterSeq, ...(upToSeq !== undefined ? { lte: upToSeq } : {}) } },
    orderBy: { seq: "asc" },
    take: 5000,
  });
  const needsReports = rows.some((r) => r.type === "server-done" || r.type === "done");
  const parts = needsReports ? await loadReportParts(db, checkId) : null;
  return rows.map((row): NumberedEvent => {
    const place = { checkId, what: `check_events.data (seq ${row.seq})` };
    const event = parseStored(storedEventSchema, row.data, place);
    switch (event.type) {
      case "server-done": {
        const server = parts?.servers.find((s) => s.key === event.server);
        const report = server ? serverReportOf(server, parts!.cases) : null;
        // Written in the same transaction as its event: missing, it was lost or deleted by hand.
        if (!report) throw damagedRecord(place, { server: event.server, problem: "no report row for this server-done" });
        return { seq: row.seq, event: { ...event, report } };
      }
      case "done":
        if (!parts?.check) throw damagedRecord(place, { problem: "no check row for this done" });
        return { seq: row.seq, event: { ...event, report: reportOf(parts.check, parts.servers, parts.cases) } };
      default:
        return { seq: row.seq, event };
    }
  });
}

async function loadReportParts(db: Db, checkId: string) {
  const [check, servers, cases] = await Promise.all([
    db.check.findUnique({ where: { id: checkId } }),
    db.checkServer.findMany({ where: { checkId } }),
    db.checkCase.findMany({ where: { checkId } }),
  ]);
  return { check, servers, cases };
}
