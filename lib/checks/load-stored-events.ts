/**
 * A check's events from PostgreSQL, numbered, with the reports of `server-done` and `done` put
 * back from the report rows.
 */
import type { Db } from "@/lib/db/create-db";
import { reportOf, serverReportOf } from "./build-check-view";
import type { CheckStreamEvent } from "./types";

export interface NumberedEvent {
  seq: number;
  event: CheckStreamEvent;
}

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(["done", "failed"]);

export async function loadStoredEvents(db: Db, checkId: string, afterSeq: number, upToSeq?: number): Promise<NumberedEvent[]> {
  const rows = await db.checkEvent.findMany({
    where: { checkId, seq: { gt: afterSeq, ...(upToSeq !== undefined ? { lte: upToSeq } : {}) } },
    orderBy: { seq: "asc" },
    take: 5000,
  });
  const needsReports = rows.some((r) => r.type === "server-done" || r.type === "done");
  const parts = needsReports ? await loadReportParts(db, checkId) : null;
  return rows.map((row) => {
    const event = row.data as unknown as CheckStreamEvent;
    if (parts && event.type === "server-done") {
      const server = parts.servers.find((s) => s.key === event.server);
      const report = server ? serverReportOf(server, parts.cases) : null;
      return { seq: row.seq, event: report ? { ...event, report } : event };
    }
    if (parts?.check && event.type === "done") {
      return { seq: row.seq, event: { ...event, report: reportOf(parts.check, parts.servers, parts.cases) } };
    }
    return { seq: row.seq, event };
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
