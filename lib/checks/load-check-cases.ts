/**
 * The case rows a check's view needs besides its server rows: the check_cases rows of checks
 * stored before servers kept their cases on their rows, and for each server not done yet the
 * cases of its case-result events (of the current attempt), in the order they came.
 */
import type { CheckCase, CheckServer } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/create-db";
import { loadStoredEvents } from "./load-stored-events";

export async function loadCheckCases(db: Db, checkId: string, servers: CheckServer[]): Promise<CheckCase[]> {
  const pending = new Set(servers.filter((s) => s.report === null).map((s) => s.key));
  const [legacy, events] = await Promise.all([
    db.checkCase.findMany({ where: { checkId } }),
    pending.size > 0 ? loadAllStoredEvents(db, checkId) : Promise.resolve([]),
  ]);
  const fromEvents = new Map<string, CheckCase>();
  for (const { seq, event } of events) {
    if (event.type === "attempt") fromEvents.clear(); // a new run: the earlier one's cases are void
    if (event.type !== "case-result" || !pending.has(event.server)) continue;
    const { result } = event;
    fromEvents.set(`${event.server} ${result.id}`, {
      checkId,
      serverKey: event.server,
      caseId: result.id,
      ordinal: fromEvents.get(`${event.server} ${result.id}`)?.ordinal ?? seq,
      outcome: result.outcome,
      evidence: result.evidence,
      result: result as unknown as CheckCase["result"],
      createdAt: new Date(0),
    });
  }
  return [...legacy, ...fromEvents.values()];
}

async function loadAllStoredEvents(db: Db, checkId: string) {
  const all = [];
  for (let after = 0; ; ) {
    const page = await loadStoredEvents(db, checkId, after);
    if (page.length === 0) return all;
    all.push(...page);
    after = page.at(-1)!.seq;
  }
}
