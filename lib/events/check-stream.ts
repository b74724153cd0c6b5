/**
 * The live channel of one check: a Redis Stream `{prefix}:check:{id}:events`.
 *
 * Why a stream per check, plus the events in PostgreSQL (lib/checks/record-check-event.ts):
 * - a stream keeps its entries, so a viewer who connects late or reconnects replays from its
 *   Last-Event-ID with one XREAD, which pub/sub cannot do; XREAD BLOCK wakes the viewer as soon
 *   as the worker appends, with no polling;
 * - entry ids are `${seq}-0`, seq being the event number stored in PostgreSQL, so both copies
 *   share one numbering and a viewer can switch between them without duplicates or gaps;
 * - the stream is capped (MAXLEN ~) and expires some time after the check: Redis holds only what
 *   live viewers need, and PostgreSQL keeps the record for anyone who comes later.
 */
import type { RedisClient } from "@/lib/queue/create-redis";

export interface StreamEntry {
  seq: number;
  /** The event, as JSON text. */
  data: string;
}

export function checkStreamKey(prefix: string, checkId: string): string {
  return `${prefix}:check:${checkId}:events`;
}

export interface AppendOptions {
  maxLen: number;
  ttlSeconds: number;
}

/**
 * Appends events (ascending seq) and pushes the stream's expiry back; one round trip, a pipeline
 * (no MULTI: each XADD stands alone anyway, and an event already there fails only its own).
 */
export async function appendToStream(redis: RedisClient, key: string, entries: StreamEntry[], options: AppendOptions): Promise<void> {
  const pipeline = redis.pipeline();
  for (const e of entries) pipeline.xadd(key, "MAXLEN", "~", options.maxLen, `${e.seq}-0`, "data", e.data);
  pipeline.expire(key, options.ttlSeconds);
  const results = await pipeline.exec();
  const failed = results?.find(([err]) => err && !/equal or smaller/i.test(err.message));
  // An id at or below the top means this event is already there (a retried write): fine.
  if (failed?.[0]) throw failed[0];
}

/**
 * Waits up to `blockMs` for entries after `afterSeq`. Returns [] on timeout. Use a connection of
 * its own: a blocked connection serves nobody else.
 */
export async function readStream(redis: RedisClient, key: string, afterSeq: number, blockMs: number, count = 200): Promise<StreamEntry[]> {
  const reply = (await redis.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", key, `${afterSeq}-0`)) as [string, [string, string[]][]][] | null;
  return (reply ?? []).flatMap(([, items]) => entriesOf(items));
}

/** The entries of one stream in an XREAD reply; entries not of our shape are left out. */
export function entriesOf(items: [string, string[]][]): StreamEntry[] {
  const entries: StreamEntry[] = [];
  for (const [id, fields] of items) {
    const seq = Number(id.split("-")[0]);
    const at = fields.indexOf("data");
    const data = at >= 0 ? fields[at + 1] : undefined;
    if (Number.isInteger(seq) && data !== undefined) entries.push({ seq, data });
  }
  return entries;
}
