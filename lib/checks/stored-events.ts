/**
 * The stored form of a check's events (check_events.data): a batch of consecutive events as one
 * JSON array. `server-done` and `done` are kept without their reports, which the report rows
 * hold (they are put back on replay, lib/checks/load-stored-events.ts); every other event is
 * kept whole, whatever its type, so that event types added later need nothing here.
 */
import { damagedRecord, parseStored, type StoredPlace } from "./parse-stored";
import { storedEventSchema } from "./report-schema";
import type { CheckStreamEvent } from "./types";
import type { StoredEvent } from "./report-schema";

/** The stored form of a batch, from its events' JSON texts (each event serialized once, by the writer). */
export function encodeStoredEvents(events: readonly CheckStreamEvent[], texts: readonly string[]): string {
  return `[${events.map((event, i) => {
    const small = strippedForm(event);
    return small ? JSON.stringify(small) : texts[i]!;
  }).join(",")}]`;
}

function strippedForm(event: CheckStreamEvent): object | null {
  if (event.type === "server-done") return { type: event.type, t: event.t, server: event.server };
  if (event.type === "done") return { type: event.type, t: event.t };
  return null;
}

/** The events of one row, numbered from `firstSeq`, each parsed with its schema (a damaged one throws AppError `damaged_record`). */
export function decodeStoredEvents(checkId: string, firstSeq: number, lastSeq: number, data: string): { seq: number; event: StoredEvent }[] {
  const rowPlace: StoredPlace = { checkId, what: `check_events.data (seq ${firstSeq}-${lastSeq})` };
  let values: unknown;
  try {
    values = JSON.parse(data);
  } catch {
    throw damagedRecord(rowPlace, { problem: "not JSON" });
  }
  if (!Array.isArray(values) || values.length !== lastSeq - firstSeq + 1) {
    throw damagedRecord(rowPlace, { problem: "not an array of the row's events" });
  }
  return values.map((value, i) => {
    const seq = firstSeq + i;
    return { seq, event: parseStored(storedEventSchema, value, { checkId, what: `check_events.data (seq ${seq})` }) };
  });
}
