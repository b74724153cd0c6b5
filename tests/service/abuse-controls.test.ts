/**
 * Issue 4's controls on a real service (PostgreSQL, Redis, worker process, HTTP API), with fakes
 * on 127.0.0.70–79 port 25 resolving through a local DNS server:
 * - at most RELAYCHECK_MAX_CHECKS_PER_SERVER probes of one server across workers;
 * - simultaneous POSTs for one target share one check;
 * - API keys: higher limits counted per key, 401 for a bad or revoked key, only a hash stored;
 *   only new probes take a point (a reused report does not);
 * - `fresh: true` honoured only after the cool-down;
 * - retention: the purge job against the real database.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startGatedProxy, type GatedProxy } from "@/tests/support/gated-proxy";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { createDb, type Db } from "@/lib/db/create-db";
import { createApiKey, revokeApiKey } from "@/lib/api-keys";
import { createLogger } from "@/lib/logger";
import { createPurgeExpiredHandler } from "@/worker/purge-expired";
import { readEvents } from "./read-events";
import { loadOpenApi, responseSchemaName, type OpenApiValidator } from "./openapi-validator";

const CLIENT_POINTS = 2;
const KEY_POINTS = 50;
const FRESH_COOLDOWN_SECONDS = 30;

let service: RunningService;
let dns: LocalDnsServer;
let api: OpenApiValidator;
let db: Db;
let sql: pg.Client;
const closers: { close(): Promise<void> }[] = [];
let clients = 0;

/** Each test acts as a client of its own (TRUST_PROXY=1 in the harness). */
function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `203.0.113.${clients}` };
}

async function call(method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

function conforms(docPath: string, method: "get" | "post", status: number, body: unknown): void {
  api.assert(responseSchemaName(api.document, docPath, method, status), body);
}

/** Reads a check's events until it ends; returns its final view. */
async function finished(id: string): Promise<Record<string, unknown>> {
  await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, { headers: newClient() });
  return (await call("GET", `/api/v1/checks/${id}`, undefined, newClient())).json!;
}

async function created(target: string, headers = newClient()): Promise<string> {
  const r = await call("POST", "/api/v1/checks", { target }, headers);
  expect(r.status, JSON.stringify(r.json)).toBe(202);
  return r.json!.id as string;
}

/** Resolves once the service's output matches (the worker logs as it goes); fails after 20 s. */
async function logged(pattern: RegExp): Promise<void> {
  for (let i = 0; i < 800; i++) {
    if (pattern.test(service.logs())) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the service never logged ${pattern}`);
}

async function start<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const s = await server;
  closers.push(s);
  return s;
}

beforeAll(async () => {
  dns = await startDnsServer({
    a: {
      "mx.cap.test": ["127.0.0.70"],
      "old.purge.test": ["127.0.0.76"],
      "mid.purge.test": ["127.0.0.76"],
    },
  });
  service = await startService({
    dnsServers: [dns.address],
    env: {
      WORKER_CONCURRENCY: "2",
      RELAYCHECK_MAX_CHECKS_PER_SERVER: "1",
      RELAYCHECK_ALLOW_RESERVED_NAMES: "true",
      RATE_LIMIT_CLIENT_POINTS: String(CLIENT_POINTS),
      RATE_LIMIT_KEY_POINTS: String(KEY_POINTS),
      CHECK_FRESH_COOLDOWN_SECONDS: String(FRESH_COOLDOWN_SECONDS),
      // A finished report is served from the web's cache for this long: what retention purges
      // is gone from the API within it (the retention test waits for that).
      REPORT_CACHE_TTL_SECONDS: "1",
    },
  });
  api = await loadOpenApi(service.baseUrl);
  db = createDb({ url: service.env.DATABASE_URL!, maxConnections: 2 });
  sql = new pg.Client({ connectionString: service.env.DATABASE_URL });
  await sql.connect();
});

afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
  await sql?.end();
  await db?.$disconnect();
  await service?.stop();
  await dns?.close();
});

describe("per-server connection cap", () => {
  it("runs two checks of one server one after the other: the server never sees more than 2 connections", async () => {
    const fake: FakeServer = await start(startOpenRelay({ host: "127.0.0.71", port: 25 }));
    // The probed server is 127.0.0.70: it holds every connection until the test opens it.
    const server: GatedProxy = await start(startGatedProxy({ host: "127.0.0.70", port: 25, upstream: fake }));

    // Two targets (so neither reuses the other) with one address, both taken by the worker (concurrency 2).
    const [a, b] = await Promise.all([created("127.0.0.70"), created("mx.cap.test")]);
    expect(a).not.toBe(b);
    // One check holds the server's slot and has connected; the other waits for the slot.
    await server.accepted(1);
    await logged(/waiting for a free slot on the server/);
    expect(server.log.maxConcurrent).toBeLessThanOrEqual(2);

    server.open();
    const [first, second] = await Promise.all([finished(a), finished(b)]);
    expect(first).toMatchObject({ status: "done", verdict: "open-relay" });
    expect(second).toMatchObject({ status: "done", verdict: "open-relay" });
    // Each probe opened several sessions, two at a time at most, and never both checks at once.
    expect(server.log.connections).toBeGreaterThan(2);
    expect(server.log.maxConcurrent, server.log.timeline.join("\n")).toBeLessThanOrEqual(2);
    expect(fake.log.dataAttempts).toBe(0);
  });
});

describe("simultaneous requests for one target", () => {
  it("create one check: one 202, the others 200 with the same id", async () => {
    await start(startClosed({ host: "127.0.0.73", port: 25 }));
    const answers = await Promise.all(Array.from({ length: 5 }, () => call("POST", "/api/v1/checks", { target: "127.0.0.73" }, newClient())));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 202]);
    const ids = new Set(answers.map((r) => r.json!.id));
    expect(ids.size).toBe(1);
    for (const r of answers.filter((x) => x.status === 200)) expect(r.json).toMatchObject({ reused: true });
    const [{ count }] = (await sql.query<{ count: string }>("SELECT count(*) FROM checks WHERE target = '127.0.0.73'")).rows as [{ count: string }];
    expect(Number(count)).toBe(1);
    await finished([...ids][0] as string);
  });
});

describe("API keys", () => {
  it("lift the per-IP limit, count per key, and are stored only as a hash", async () => {
    await start(startClosed({ host: "127.0.0.74", port: 25 }));
    const { key, record } = await createApiKey(db, "monitoring script");
    expect(key).toMatch(/^rk_[A-Za-z0-9_-]{43}$/);
    const ip = newClient();
    const bearer = { ...ip, authorization: `Bearer ${key}` };

    // Anonymous, this address may start CLIENT_POINTS new probes; reused reports cost nothing.
    expect((await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, ip)).status).toBe(202);
    expect((await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, ip)).status).toBe(200);
    expect((await call("POST", "/api/v1/checks", { target: "127.0.0.77" }, ip)).status).toBe(202);
    const refused = await call("POST", "/api/v1/checks", { target: "127.0.0.78" }, ip);
    expect(refused.status).toBe(429);
    expect((await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, ip)).status).toBe(200);

    // With the key, from the same address: the key's limit, not the address's; a reused report
    // shows the key's points without taking one.
    const probe = await call("POST", "/api/v1/checks", { target: "127.0.0.78" }, bearer);
    expect(probe.status, JSON.stringify(probe.json)).toBe(202);
    expect(probe.res.headers.get("ratelimit-limit")).toBe(String(KEY_POINTS));
    expect(probe.res.headers.get("ratelimit-remaining")).toBe(String(KEY_POINTS - 1));
    for (let i = 0; i < CLIENT_POINTS + 2; i++) {
      const r = await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, bearer);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.res.headers.get("ratelimit-limit")).toBe(String(KEY_POINTS));
      expect(r.res.headers.get("ratelimit-remaining")).toBe(String(KEY_POINTS - 1));
    }
    // Counted per key: another address with the same key takes from the same budget.
    const elsewhere = await call("POST", "/api/v1/checks", { target: "127.0.0.79" }, { ...newClient(), authorization: `Bearer ${key}` });
    expect(elsewhere.status).toBe(202);
    expect(elsewhere.res.headers.get("ratelimit-remaining")).toBe(String(KEY_POINTS - 2));
    const read = await call("GET", `/api/v1/checks/${elsewhere.json!.id as string}`, undefined, bearer);
    expect(read.status).toBe(200);

    // Only the SHA-256 is in the database, nowhere the key; nor in the logs.
    const row = (await sql.query("SELECT * FROM api_keys WHERE id = $1", [record.id])).rows[0] as Record<string, unknown>;
    expect(row.key_hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(row.last_used_at).not.toBeNull();
    const everything = await sql.query("SELECT row_to_json(t)::text AS j FROM (SELECT * FROM api_keys) t UNION ALL SELECT row_to_json(c)::text FROM checks c UNION ALL SELECT data::text FROM check_events");
    const secret = key.slice(3);
    for (const { j } of everything.rows as { j: string }[]) expect(j).not.toContain(secret);
    expect(service.logs()).not.toContain(secret);

    // Revoked: 401 at once, for writes and reads.
    expect(await revokeApiKey(db, record.id)).toBe(true);
    const revoked = await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, bearer);
    expect(revoked.status).toBe(401);
    conforms("/api/v1/checks", "post", 401, revoked.json);
    expect(revoked.json).toMatchObject({ error: { code: "invalid_api_key" } });
    expect(revoked.res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    const revokedRead = await call("GET", `/api/v1/checks/${elsewhere.json!.id as string}`, undefined, bearer);
    expect(revokedRead.status).toBe(401);
    conforms("/api/v1/checks/{id}", "get", 401, revokedRead.json);
  });

  it.each([
    ["an unknown key", `Bearer rk_${"A".repeat(43)}`],
    ["a malformed key", "Bearer not-a-key"],
    ["another scheme", "Basic dXNlcjpwYXNz"],
  ])("401 for %s, not a silent downgrade to anonymous", async (_what, authorization) => {
    const r = await call("POST", "/api/v1/checks", { target: "127.0.0.74" }, { ...newClient(), authorization });
    expect(r.status).toBe(401);
    conforms("/api/v1/checks", "post", 401, r.json);
    expect((r.json!.error as { code: string }).code).toBe("invalid_api_key");
  });
});

describe("fresh: true", () => {
  it("reuses the report within the cool-down and probes again after it", async () => {
    await start(startClosed({ host: "127.0.0.75", port: 25 }));
    const id = await created("127.0.0.75");
    await finished(id);

    const early = await call("POST", "/api/v1/checks", { target: "127.0.0.75", fresh: true }, newClient());
    expect(early.status).toBe(200);
    expect(early.json).toMatchObject({ id, reused: true });

    // The check is now older than the cool-down (but still inside the reuse window).
    await sql.query(`UPDATE checks SET created_at = now() - make_interval(secs => $2) WHERE id = $1`, [id, FRESH_COOLDOWN_SECONDS + 5]);
    const plain = await call("POST", "/api/v1/checks", { target: "127.0.0.75" }, newClient());
    expect(plain.json).toMatchObject({ id, reused: true });
    const fresh = await call("POST", "/api/v1/checks", { target: "127.0.0.75", fresh: true }, newClient());
    expect(fresh.status).toBe(202);
    expect(fresh.json!.id).not.toBe(id);
    expect(await finished(fresh.json!.id as string)).toMatchObject({ status: "done", verdict: "not-open-relay" });
  });
});

describe("retention", () => {
  it("purges old transcripts and events and expired IP hashes, keeps verdicts and recent data", async () => {
    await start(startClosed({ host: "127.0.0.76", port: 25 }));
    const old = await created("old.purge.test");
    const mid = await created("mid.purge.test");
    const recent = await created("127.0.0.76");
    for (const id of [old, mid, recent]) expect(await finished(id)).toMatchObject({ status: "done" });
    const verdictBefore = (await finished(old)).verdict;
    expect(verdictBefore).toBe("not-open-relay");

    // old: past the retention (30 days); mid: past the per-client window (600 s) only.
    await sql.query(`UPDATE checks SET created_at = now() - interval '40 days' WHERE id = $1`, [old]);
    await sql.query(`UPDATE checks SET created_at = now() - interval '1 hour' WHERE id = $1`, [mid]);
    const purge = createPurgeExpiredHandler({ db, log: createLogger({ level: "silent" }) }, { clientWindowSeconds: 600, retentionDays: 30 });
    await purge();

    const state = async (id: string) => {
      const { rows } = await sql.query<{ hash: string | null; verdict: string | null; events: string; transcripts: string }>(
        `SELECT c.client_ip_hash AS hash, c.verdict,
                (SELECT count(*) FROM check_events e WHERE e.check_id = c.id) AS events,
                (SELECT count(*) FROM check_servers s WHERE s.check_id = c.id AND s.transcript IS NOT NULL) AS transcripts
           FROM checks c WHERE c.id = $1`,
        [id],
      );
      const r = rows[0]!;
      return { hash: r.hash, verdict: r.verdict, events: Number(r.events), transcripts: Number(r.transcripts) };
    };
    expect(await state(old)).toEqual({ hash: null, verdict: "not-open-relay", events: 0, transcripts: 0 });
    const midState = await state(mid);
    expect(midState.hash).toBeNull();
    expect(midState.events).toBeGreaterThan(0);
    expect(midState.transcripts).toBe(1);
    const recentState = await state(recent);
    expect(recentState.hash).not.toBeNull();
    expect(recentState.events).toBeGreaterThan(0);
    expect(recentState.transcripts).toBe(1);

    // The old report is still readable: verdict, cases and server facts, without the transcript
    // (once the web's cache of finished reports, REPORT_CACHE_TTL_SECONDS, has let it go).
    const client = newClient();
    let report = await call("GET", `/api/v1/checks/${old}`, undefined, client);
    for (let i = 0; i < 30 && (report.json as { servers?: { transcript: unknown[] }[] }).servers?.[0]?.transcript.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      report = await call("GET", `/api/v1/checks/${old}`, undefined, client);
    }
    expect(report.status).toBe(200);
    conforms("/api/v1/checks/{id}", "get", 200, report.json);
    const view = report.json as { verdict: string; servers: { cases: unknown[]; transcript: unknown[] }[] };
    expect(view.verdict).toBe("not-open-relay");
    expect(view.servers[0]!.cases.length).toBeGreaterThan(0);
    expect(view.servers[0]!.transcript).toEqual([]);
  });
});
