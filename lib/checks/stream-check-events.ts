/**
 * The events of one check for a viewer, each exactly once, in order, from `afterSeq` on:
 * first what PostgreSQL holds, then live from the Redis stream (XREAD BLOCK on a connection of
 * the viewer's own, closed when the viewer leaves). Ends after `done` or `failed`.
 *
 * Gaps are filled from PostgreSQL: an entry trimmed from the capped stream, or written to
 * PostgreSQL just before a worker crash, is read there. Every keep-alive period without news,
 * PostgreSQL is asked again, which also ends the stream of a check whose Redis stream expired.
 */
import type { Redis } from "ioredis";
import { checkStreamKey, readStream } from "@/lib/events/check-stream";
import { getCheckServices, type CheckServices } from "./services";
import { loadStoredEvents, TERMINAL_EVENTS, type NumberedEvent } from "./load-stored-events";
import { failureOf, reportOf } from "./build-check-view";
import { parseStored } from "./parse-stored";
import { checkStreamEventSchema } from "./report-schema";

export type StreamItem = NumberedEvent | { keepAlive: true };

export interface StreamCheckEventsOptions {
  afterSeq: number;
  signal: AbortSignal;
}

export async function* streamCheckEvents(
  checkId: string,
  options: StreamCheckEventsOptions,
  services: CheckServices = getCheckServices(),
): AsyncGenerator<StreamItem, void, void> {
  const { db, settings } = services;
  let last = options.afterSeq;

  // 1. What is stored already.
  for (const item of await loadStoredEvents(db, checkId, last)) {
    yield item;
    last = item.seq;
    if (TERMINAL_EVENTS.has(item.event.type)) return;
  }
  const ending = await endOfFinishedCheck(services, checkId, last);
  if (ending) {
    yield* ending;
    return;
  }

  // 2. Live, on a connection of our own (a blocked connection serves nobody else).
  const reader: Redis = services.redis.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined, connectionName: `relaycheck-sse:${settings.redisPrefix}` });
  reader.on("error", () => {});
  const stop = () => reader.disconnect();
  options.signal.addEventListener("abort", stop, { once: true });
  const key = checkStreamKey(settings.redisPrefix, checkId);
  try {
    while (!options.signal.aborted) {
      const entries = await readStream(reader, key, last, settings.keepAliveMs);
      if (options.signal.aborted) return;
      if (entries.length === 0) {
        const stored = await loadStoredEvents(db, checkId, last);
        if (stored.length === 0) {
          yield { keepAlive: true };
          continue;
        }
        for (const item of stored) {
          yield item;
          last = item.seq;
          if (TERMINAL_EVENTS.has(item.event.type)) return;
        }
        continue;
      }
      for (const entry of entries) {
        if (entry.seq <= last) continue;
        if (entry.seq > last + 1) {
          for (const item of await loadStoredEvents(db, checkId, last, entry.seq - 1)) {
            yield item;
            last = item.seq;
          }
        }
        const item = { seq: entry.seq, event: parseStored(checkStreamEventSchema, parseJson(entry.data), { checkId, what: `live stream entry ${entry.seq}` }) };
        yield item;
        last = item.seq;
        if (TERMINAL_EVENTS.has(item.event.type)) return;
      }
    }
  } catch (e) {
    if (!options.signal.aborted) throw e;
  } finally {
    options.signal.removeEventListener("abort", stop);
    reader.disconnect();
  }
}

/**
 * For a check that finished while we read (or long ago), the rest of its events; for one whose
 * events were deleted by retention, a `done` (or `failed`) rebuilt from the report rows.
 * Null while the check is still queued or running.
 */
async function endOfFinishedCheck(services: CheckServices, checkId: string, last: number): Promise<NumberedEvent[] | null> {
  const { db } = services;
  const check = await db.check.findUnique({ where: { id: checkId } });
  if (!check || (check.status !== "done" && check.status !== "failed")) return null;
  // The terminal event is written in the same transaction as the status: it is there now.
  const rest = await loadStoredEvents(db, checkId, last);
  if (rest.some((e) => TERMINAL_EVENTS.has(e.event.type))) return rest;
  const seq = Math.max(check.lastSeq, last) + 1;
  if (check.status === "failed") {
    return [...rest, { seq, event: { type: "failed", t: 0, error: failureOf(check) ?? { code: "internal", message: "" } } }];
  }
  const [servers, cases] = await Promise.all([
    db.checkServer.findMany({ where: { checkId } }),
    db.checkCase.findMany({ where: { checkId } }),
  ]);
  return [...rest, { seq, event: { type: "done", t: check.durationMs ?? 0, report: reportOf(check, servers, cases) } }];
}

/** A stream entry's JSON; what is not JSON at all is left for the schema to refuse. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
