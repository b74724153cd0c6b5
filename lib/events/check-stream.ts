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
 * Appends entries and pushes the stream's expiry back, in one command: an entry whose id is at
 * or below the top is already there (a retried write) and is skipped; any other error fails.
 * ARGV: maxLen, ttlSeconds, then id and data of each entry.
 */
const APPEND_SCRIPT = `
for i = 3, #ARGV, 2 do
  local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i], 'data', ARGV[i + 1])
  if type(added) == 'table' and added.err and not string.find(string.lower(added.err), 'equal or smaller', 1, true) then return added end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * Appends events (ascending seq) and pushes the stream's expiry back; one command (a script: a
 * MULTI or a pipeline costs the client more than the append itself).
 */
export async function appendToStream(redis: RedisClient, key: string, entries: StreamEntry[], options: AppendOptions): Promise<void> {
  const args = [String(options.maxLen), String(options.ttlSeconds)];
  for (const e of entries) args.push(`${e.seq}-0`, e.data);
  await redis.eval(APPEND_SCRIPT, 1, key, ...args);
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
