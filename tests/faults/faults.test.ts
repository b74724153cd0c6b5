/**
 * Fault injection (issue 8): the whole service (web + worker processes) on a Redis and, where the
 * fault needs it, a PostgreSQL of the test's own, which are killed, wiped, frozen and restarted
 * while checks of slow fake servers are running. Each scenario ends with
 * - every check terminal (done or failed) in PostgreSQL, none left queued or running;
 * - every finished check's report whole (its servers and cases stored);
 * - no fake server that ever saw more than 2 connections at once (no server probed twice at once)
 *   nor a DATA command;
 * - every live viewer's stream ended with the check's terminal event (viewers reconnect with
 *   Last-Event-ID, as EventSource does, when a stream breaks).
 * The time from the fault to the last check's terminal state is printed (the figures of the
 * issue's closing note); tests assert outcomes, not speed.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import pg from "pg";
import { startService, type RunningService } from "@/tests/support/service";
import { startOwnRedis, redisServerAvailable, type OwnRedis } from "@/tests/support/own-redis";
import { ownPostgresAvailable, startOwnPostgres, type OwnPostgres } from "@/tests/support/own-postgres";
import { requireOrSkip } from "@/tests/support/require";
import { startTarpit } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { readEvents, type ReceivedEvent } from "@/tests/service/read-events";

/** Timings of the service under test: short, so faults are noticed within seconds. */
const FAST_LIFECYCLE = {
  RECONCILE_EVERY_MS: "1000",
  RECONCILE_GRACE_MS: "2000",
  JOB_LOCK_MS: "3000",
  SERVER_SLOT_LEASE_MS: "3000",
  REDIS_COMMAND_TIMEOUT_MS: "2500",
  CHECK_TIMEOUT_MS: "60000",
  CHECK_QUEUE_TIMEOUT_MS: "60000",
  WORKER_CONCURRENCY: "4",
  SSE_KEEPALIVE_SECONDS: "1",
  LOG_LEVEL: "warn",
};
/** How long a scenario may take to settle before the test gives up (a stuck check fails it). */
const SETTLE_BOUND_MS = 120_000;
const FIRST_HOST = 241;

const figures: string[] = [];
let cleanups: (() => Promise<void> | void)[] = [];
let current: RunningService | null = null;

const dependencies = () => [{ ok: redisServerAvailable(), reason: "redis-server is not installed" }, ownPostgresAvailable()];

beforeEach((ctx) => {
  for (const d of dependencies()) requireOrSkip(ctx, d);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" && current) console.log(`--- service output ---\n${current.logs().split("\n").slice(-60).join("\n")}`);
  current = null;
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  cleanups = [];
});

afterAll(() => {
  if (figures.length) console.log(`[faults] time from fault to every check terminal:\n${figures.map((f) => `  ${f}`).join("\n")}`);
});

interface Scenario {
  service: RunningService;
  fakes: FakeServer[];
  sql: pg.Client;
  ids: string[];
  viewers: Promise<ReceivedEvent[]>[];
}

/**
 * Slow closed servers (every reply held back `sleepMs`: a check takes a few seconds), the
 * service on the given Redis/PostgreSQL, and `count` checks with a live viewer each, once every
 * check is running.
 */
async function startScenario(options: { redis: OwnRedis; databaseUrl?: string; count?: number; running?: number; env?: Record<string, string> }): Promise<Scenario> {
  const count = options.count ?? 3;
  const running = options.running ?? count;
  const fakes: FakeServer[] = [];
  for (let i = 0; i < count; i++) {
    const fake = await startTarpit({ host: `127.0.0.${FIRST_HOST + i}`, port: 25, softLimit: 0, hardLimit: 100_000, sleepMs: 150 });
    fakes.push(fake);
    cleanups.push(() => fake.close());
  }
  const service = await startService({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    env: { ...FAST_LIFECYCLE, REDIS_URL: options.redis.url, ...options.env },
  });
  cleanups.push(() => service.stop());
  current = service;
  const sql = new pg.Client({ connectionString: service.env.DATABASE_URL });
  sql.on("error", () => {});
  await sql.connect();
  cleanups.push(() => sql.end());

  const ids: string[] = [];
  for (const fake of fakes) {
    // A loaded machine may answer 503 (Redis slower than REDIS_COMMAND_TIMEOUT_MS): ask again.
    let res: Response | null = null;
    for (let attempt = 0; attempt < 5 && res?.status !== 202; attempt++) {
      res = await fetch(`${service.baseUrl}/api/v1/checks`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${ids.length + 1}` },
        body: JSON.stringify({ target: fake.host }),
      });
      if (res.status === 503) await sleep(500);
    }
    expect(res!.status).toBe(202);
    ids.push(((await res!.json()) as { id: string }).id);
  }
  const viewers = ids.map((id) => viewUntilTerminal(service.baseUrl, id));
  // The fault strikes mid-check: every check running, with some cases decided.
  await waitFor(async () => {
    const { rows } = await sql.query<{ running: string }>(
      `SELECT count(*) AS running FROM checks c WHERE c.status = 'running' AND EXISTS (SELECT 1 FROM check_events e WHERE e.check_id = c.id AND e.data LIKE '%"type":"case-result"%')`,
    );
    return Number(rows[0]!.running) === running;
  }, 60_000);
  return { service, fakes, sql, ids, viewers };
}

/**
 * A viewer as EventSource is one: reads the stream, reconnects with Last-Event-ID whenever it
 * breaks or the service is unreachable, until the terminal event; returns every event seen.
 */
async function viewUntilTerminal(baseUrl: string, id: string): Promise<ReceivedEvent[]> {
  const seen: ReceivedEvent[] = [];
  const deadline = Date.now() + SETTLE_BOUND_MS + 60_000;
  while (Date.now() < deadline) {
    const last = seen.at(-1)?.id;
    try {
      const { events } = await readEvents(`${baseUrl}/api/v1/checks/${id}/events`, last !== undefined ? { lastEventId: last } : {});
      seen.push(...events);
    } catch {
      // The stream broke (a dependency of the web went away): reconnect, as a browser would.
    }
    if (seen.some((e) => e.type === "done" || e.type === "failed")) return seen;
    await sleep(250);
  }
  throw new Error(`viewer of ${id} never saw the check end`);
}

/** Waits until every check is terminal; returns the ms since `from`. */
async function settled(s: Scenario, from: number): Promise<number> {
  await waitFor(async () => {
    try {
      const { rows } = await s.sql.query<{ open: string }>(`SELECT count(*) AS open FROM checks WHERE status IN ('queued', 'running')`);
      return Number(rows[0]!.open) === 0;
    } catch {
      return false; // our own connection died with the database: the caller reconnects
    }
  }, SETTLE_BOUND_MS);
  return Date.now() - from;
}

/** The invariants every scenario ends with (see the file's comment). */
async function expectWholeOutcome(s: Scenario): Promise<{ done: number; failed: number }> {
  const { rows } = await s.sql.query<{ id: string; status: string; verdict: string | null; servers: string; finished: string; cases: string }>(
    `SELECT c.id, c.status, c.verdict,
            (SELECT count(*) FROM check_servers v WHERE v.check_id = c.id) AS servers,
            (SELECT count(*) FROM check_servers v WHERE v.check_id = c.id AND v.finished_at IS NOT NULL) AS finished,
            (SELECT coalesce(sum(json_array_length(v.cases::json)), 0) FROM check_servers v WHERE v.check_id = c.id) AS cases
       FROM checks c WHERE c.id = ANY($1)`,
    [s.ids],
  );
  expect(rows).toHaveLength(s.ids.length);
  for (const row of rows) {
    expect(["done", "failed"]).toContain(row.status);
    if (row.status === "done") {
      expect(row.verdict).not.toBeNull();
      expect(Number(row.servers)).toBeGreaterThan(0);
      expect(Number(row.finished)).toBe(Number(row.servers));
      expect(Number(row.cases)).toBeGreaterThan(0);
    }
  }
  for (const fake of s.fakes) {
    expect(fake.log.maxConcurrent).toBeLessThanOrEqual(2);
    expect(fake.log.dataAttempts).toBe(0);
  }
  const streams = await Promise.all(s.viewers);
  for (const [i, events] of streams.entries()) {
    const terminal = events.filter((e) => e.type === "done" || e.type === "failed");
    expect(terminal).toHaveLength(1);
    expect(terminal[0]!.type).toBe(rows.find((r) => r.id === s.ids[i])!.status);
    // Exactly once: no event number twice.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  }
  return { done: rows.filter((r) => r.status === "done").length, failed: rows.filter((r) => r.status === "failed").length };
}

describe("faults of workers, Redis and PostgreSQL", { timeout: SETTLE_BOUND_MS + 120_000 }, () => {
  it("a worker killed mid-check: another worker re-runs its checks as a new attempt", async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.close());
    const s = await startScenario({ redis });
    const fault = Date.now();
    await s.service.killWorkers("SIGKILL");
    await s.service.startWorker();
    const ms = await settled(s, fault);
    const outcome = await expectWholeOutcome(s);
    expect(outcome.done).toBe(s.ids.length);
    const streams = await Promise.all(s.viewers);
    for (const events of streams) expect(events.some((e) => e.type === "attempt")).toBe(true);
    const { rows } = await s.sql.query<{ attempt: number }>(`SELECT attempt FROM checks WHERE id = ANY($1)`, [s.ids]);
    expect(rows.every((r) => r.attempt === 2)).toBe(true);
    figures.push(`worker SIGKILL: ${ms} ms (${outcome.done} done, ${outcome.failed} failed)`);
  });

  it("Redis restarted without its data mid-check: running checks finish, lost jobs are re-enqueued", async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.close());
    // Two checks running (concurrency 2), the third waiting in the queue: its job is lost with the data.
    const s = await startScenario({ redis, count: 3, running: 2, env: { WORKER_CONCURRENCY: "2" } });
    const fault = Date.now();
    await redis.kill("SIGKILL");
    await redis.start();
    const ms = await settled(s, fault);
    const outcome = await expectWholeOutcome(s);
    expect(outcome.done).toBe(s.ids.length);
    figures.push(`Redis restart without data: ${ms} ms (${outcome.done} done, ${outcome.failed} failed, one of them re-enqueued)`);
  });

  it("Redis restarted with its data mid-check: every check finishes", async () => {
    const redis = await startOwnRedis({ keepData: true });
    cleanups.push(() => redis.close());
    const s = await startScenario({ redis });
    const fault = Date.now();
    await redis.kill("SIGTERM");
    await redis.start();
    const ms = await settled(s, fault);
    const outcome = await expectWholeOutcome(s);
    expect(outcome.done).toBe(s.ids.length);
    figures.push(`Redis restart with data: ${ms} ms (${outcome.done} done, ${outcome.failed} failed)`);
  });

  it("Redis frozen (SIGSTOP): requests fail fast with 503, and every check ends once it thaws", async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.close());
    const s = await startScenario({ redis });
    const fault = Date.now();
    redis.freeze();
    try {
      const started = Date.now();
      const res = await fetch(`${s.service.baseUrl}/api/v1/checks`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.77" },
        body: JSON.stringify({ target: "127.0.0.249" }),
        signal: AbortSignal.timeout(20_000),
      });
      const answeredMs = Date.now() - started;
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
      figures.push(`Redis frozen: POST answered 503 in ${answeredMs} ms`);
      await sleep(5000);
    } finally {
      redis.thaw();
    }
    const ms = await settled(s, fault);
    const outcome = await expectWholeOutcome(s);
    figures.push(`Redis frozen 5 s: ${ms} ms (${outcome.done} done, ${outcome.failed} failed)`);
  });

  it("PostgreSQL down 20 s mid-check: no check stuck, no report lost", async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.close());
    let postgres: OwnPostgres | null = await startOwnPostgres();
    cleanups.push(() => postgres?.close());
    const s = await startScenario({ redis, databaseUrl: postgres.url });
    const fault = Date.now();
    postgres.stop();
    await sleep(Number(process.env.RELAYCHECK_FAULT_PG_DOWN_MS ?? 20_000));
    postgres.start();
    // Our own connection died with the server: a new one.
    s.sql = new pg.Client({ connectionString: postgres.url });
    s.sql.on("error", () => {});
    await s.sql.connect();
    cleanups.push(() => s.sql.end());
    const ms = await settled(s, fault);
    const outcome = await expectWholeOutcome(s);
    expect(outcome.done).toBe(s.ids.length);
    figures.push(`PostgreSQL down 20 s: ${ms} ms (${outcome.done} done, ${outcome.failed} failed)`);
    await s.service.stop();
    postgres.close();
    postgres = null;
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
