/**
 * How a check's events and report rows are stored (issue 10), on the real PostgreSQL and Redis,
 * driving the worker's job handler in this process against a closed fake server:
 * - no row is written twice: each event row is inserted once and never updated; a server row is
 *   inserted at `resolved` and finished once, with its cases (or inserted finished, when both
 *   came in one batch; a trigger logs every insert and update); no case row is written (a
 *   server's cases are on its row, or in the events before);
 * - replay from PostgreSQL gives exactly the events written (what went to the live stream), in
 *   order, numbered 1…n, for a finished check, and for a running one from any Last-Event-ID;
 * - a one-server check costs at most 20 KB of database (tables, indexes and TOAST included).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "bullmq";
import { startInProcessServices, type InProcessServices } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { createCheck } from "@/lib/checks/create-check";
import { recordCheckEvents } from "@/lib/checks/record-check-event";
import { loadStoredEvents } from "@/lib/checks/load-stored-events";
import { checkEventSource } from "@/lib/checks/stream-check-events";
import { checkStreamKey } from "@/lib/events/check-stream";
import type { CheckStreamEvent } from "@/lib/checks/types";
import { createRunCheckHandler } from "@/worker/run-check";

const SERVER = "127.0.0.180";
const TABLES = ["checks", "check_servers", "check_cases", "check_events"];
const MAX_BYTES_PER_CHECK = 20 * 1024;

let ctx: InProcessServices;
let dns: LocalDnsServer;
let fake: FakeServer;
let clients = 0;

beforeAll(async () => {
  dns = await startDnsServer({});
  fake = await startClosed({ host: SERVER, port: 25 });
  ctx = await startInProcessServices({ RELAYCHECK_DNS_SERVERS: dns.address, CHECK_REUSE_WINDOW_SECONDS: "0", RATE_LIMIT_TARGET_POINTS: "1000" });
  // Every insert and update of the report rows, with the row's key.
  await ctx.services.db.$executeRawUnsafe(`CREATE TABLE row_writes (tbl text NOT NULL, key text NOT NULL, op text NOT NULL)`);
  await ctx.services.db.$executeRawUnsafe(`
    CREATE FUNCTION log_row_write() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE j jsonb := to_jsonb(NEW);
    BEGIN
      INSERT INTO row_writes VALUES (TG_TABLE_NAME, concat_ws(' ', j->>'check_id', j->>'seq', j->>'server_key', j->>'case_id', j->>'key'), TG_OP);
      RETURN NULL;
    END $$`);
  for (const t of ["check_events", "check_cases", "check_servers"]) {
    await ctx.services.db.$executeRawUnsafe(`CREATE TRIGGER ${t}_writes AFTER INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION log_row_write()`);
  }
});

afterAll(async () => {
  await ctx?.close();
  await fake?.close();
  await dns?.close();
});

async function newCheck(): Promise<string> {
  const { check } = await createCheck({ target: SERVER }, { clientIp: `198.51.100.${++clients}` }, ctx.services);
  return check.id;
}

async function runToEnd(id: string): Promise<void> {
  const handler = createRunCheckHandler({
    services: ctx.services,
    probe: { base: { dnsServers: [dns.address] }, checkTimeoutMs: 60_000 },
    shutdownSignal: new AbortController().signal,
  });
  await handler({ id, name: "run-check", data: { checkId: id }, attemptsMade: 0 } as unknown as Job);
}

/** The inserts and updates of each row of a check, by table (from the trigger's log). */
async function rowWrites(id: string): Promise<(tbl: string) => { inserts: number; updates: number }[]> {
  const rows = await ctx.services.db.$queryRawUnsafe<{ tbl: string; key: string; inserts: bigint; updates: bigint }[]>(
    `SELECT tbl, key, count(*) FILTER (WHERE op = 'INSERT') AS inserts, count(*) FILTER (WHERE op = 'UPDATE') AS updates
       FROM row_writes WHERE key LIKE $1 GROUP BY tbl, key`,
    `${id} %`,
  );
  return (tbl) => rows.filter((r) => r.tbl === tbl).map((r) => ({ inserts: Number(r.inserts), updates: Number(r.updates) }));
}

/** The live stream's entries of a check: what the writer published, after storing it. */
async function streamed(id: string): Promise<{ seq: number; event: unknown }[]> {
  const { redis, settings } = ctx.services;
  const entries = await redis.xrange(checkStreamKey(settings.redisPrefix, id), "-", "+");
  return entries.map(([entryId, fields]) => {
    const data = fields[fields.indexOf("data") + 1]!;
    return { seq: Number(entryId.split("-")[0]), event: JSON.parse(data) as unknown };
  });
}

describe("a check's stored events and rows", () => {
  let id: string;

  beforeAll(async () => {
    id = await newCheck();
    await runToEnd(id);
  });

  it("writes no row twice", async () => {
    const of = await rowWrites(id);
    expect(of("check_cases")).toEqual([]);
    const [server] = await ctx.services.db.checkServer.findMany({ where: { checkId: id } });
    expect((JSON.parse(server!.cases!) as unknown[]).length).toBeGreaterThan(10);
    const events = of("check_events");
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e).toEqual({ inserts: 1, updates: 0 });
    // Inserted at `resolved`, finished once at `server-done`; both in one batch: inserted finished.
    const servers = of("check_servers");
    expect(servers).toHaveLength(1);
    expect(servers[0]!.inserts).toBe(1);
    expect(servers[0]!.updates).toBeLessThanOrEqual(1);
  });

  it("replays exactly the events written, in order, numbered from 1", async () => {
    const live = await streamed(id);
    expect(live.map((e) => e.seq)).toEqual(live.map((_, i) => i + 1));
    expect(live.at(-1)).toMatchObject({ event: { type: "done" } });
    const stored = await loadStoredEvents(ctx.services.db, id, 0);
    expect(stored.map((e) => ({ seq: e.seq, event: JSON.parse(JSON.stringify(e.event)) as unknown }))).toEqual(live);
    // What a late viewer gets, from any Last-Event-ID.
    const viewer = await checkEventSource(ctx.services.db).read(id, 0);
    expect(viewer.map((e) => ({ seq: e.seq, event: JSON.parse(e.data) as unknown }))).toEqual(live);
    const middle = Math.floor(live.length / 2);
    const rest = await checkEventSource(ctx.services.db).read(id, middle);
    expect(rest.map((e) => ({ seq: e.seq, event: JSON.parse(e.data) as unknown }))).toEqual(live.slice(middle));
  });

  it("replays a running check's events exactly, from any Last-Event-ID, whatever the batches were", async () => {
    // The finished check's events up to its last server-done, written again to a new check in
    // batches of 1, 2, 3… events: the check is running (no done yet).
    const events = (await streamed(id)).map((e) => e.event as CheckStreamEvent);
    const upTo = events.findIndex((e) => e.type === "server-done") + 1;
    const written = events.slice(events.findIndex((e) => e.type === "resolved"), upTo);
    const other = await newCheck();
    await recordCheckEvents(ctx.services, other, [{ type: "status", t: 0, status: "running" }]);
    for (let i = 0, size = 1; i < written.length; i += size, size++) await recordCheckEvents(ctx.services, other, written.slice(i, i + size));
    const started = [{ type: "status", t: 0, status: "queued" }, { type: "status", t: 0, status: "running" }];
    const expected = [...started, ...written].map((event, i) => ({ seq: i + 1, event }));
    expect(await streamed(other)).toEqual(expected);
    const source = checkEventSource(ctx.services.db);
    for (const after of [0, 1, 2, 5, Math.floor(expected.length / 2), expected.length - 1, expected.length]) {
      const replay = await source.read(other, after);
      expect(replay.map((e) => ({ seq: e.seq, event: JSON.parse(e.data) as unknown }))).toEqual(expected.slice(after));
    }
    const window = await source.read(other, 3, 7);
    expect(window.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect((await ctx.services.db.check.findUniqueOrThrow({ where: { id: other } })).status).toBe("running");
    // Announced by `resolved` in one batch, finished by its `server-done` in a later one: one insert, one update.
    expect((await rowWrites(other))("check_servers")).toEqual([{ inserts: 1, updates: 1 }]);
  });
});

describe("storage", () => {
  it("costs at most 20 KB of database per one-server check", async () => {
    const sizes = async () => {
      const rows = await ctx.services.db.$queryRawUnsafe<{ bytes: bigint }[]>(TABLES.map((t) => `SELECT pg_total_relation_size('${t}') AS bytes`).join(" UNION ALL "));
      return rows.reduce((s, r) => s + Number(r.bytes), 0);
    };
    // A few first, so that the tables' first pages are there already.
    for (let i = 0; i < 3; i++) await runToEnd(await newCheck());
    const before = await sizes();
    const n = 12;
    for (let i = 0; i < n; i++) await runToEnd(await newCheck());
    const perCheck = ((await sizes()) - before) / n;
    expect(perCheck).toBeGreaterThan(0);
    expect(perCheck).toBeLessThanOrEqual(MAX_BYTES_PER_CHECK);
  });
});
