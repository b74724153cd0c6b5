/**
 * The service unchanged behind a connection pooler: web and worker reach PostgreSQL only through
 * a PgBouncer in transaction mode (tests/support/pgbouncer.ts) with fewer server connections (3)
 * than the two processes have clients (10 each), so consecutive statements of one client land on
 * different server sessions. What that breaks elsewhere (named prepared statements, session
 * advisory locks, SET, LISTEN) must not be in use: a whole check with live events (interactive
 * transactions with SELECT … FOR UPDATE in the worker), and simultaneous POSTs serialised by a
 * transaction-level advisory lock. Fakes on 127.0.0.86–87 port 25. Migrations are not run
 * through the pooler: the database is a copy of the test database, migrated directly.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { pgbouncerAvailable, startPgBouncer, type PgBouncerInstance } from "@/tests/support/pgbouncer";
import { requireOrSkip } from "@/tests/support/require";
import { startService, TEST_DATABASE_URL_ENV, type RunningService } from "@/tests/support/service";
import { readEvents } from "./read-events";

const available = pgbouncerAvailable();
/** Fewer server connections than the service's clients, so that sessions are really shared. */
const POOL_SIZE = 3;
const SIMULTANEOUS_POSTS = 5;

let bouncer: PgBouncerInstance | undefined;
let service: RunningService | undefined;
let dns: LocalDnsServer | undefined;
let database: { name: string; directUrl: string; drop(): Promise<void> } | undefined;
const fakes: FakeServer[] = [];
let clients = 0;

/** Each request acts as a client of its own (TRUST_PROXY=1 in the harness). */
function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `192.0.2.${clients}` };
}

async function call(method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = newClient()) {
  const res = await fetch(`${service!.baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** Runs one statement on a direct connection (no pooler) to `url`. */
async function direct<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** A copy of the migrated test database (CREATE DATABASE … TEMPLATE), retried while the template is busy. */
async function copyTestDatabase(templateUrl: string): Promise<{ name: string; directUrl: string; drop(): Promise<void> }> {
  const template = decodeURIComponent(new URL(templateUrl).pathname.slice(1));
  const name = `relaycheck_t_pgbouncer_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = new URL(templateUrl);
  admin.pathname = "/postgres";
  for (let attempt = 0; ; attempt++) {
    try {
      await direct(admin.toString(), `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      break;
    } catch (e) {
      if (attempt >= 50 || !/being accessed by other users/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
    }
  }
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return { name, directUrl: url.toString(), drop: () => direct(admin.toString(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => {}) };
}

beforeAll(async () => {
  if (!available.ok) return;
  const templateUrl = process.env[TEST_DATABASE_URL_ENV];
  if (!templateUrl) throw new Error(`${TEST_DATABASE_URL_ENV} is not set: run the tests with \`npm test\`.`);
  database = await copyTestDatabase(templateUrl);
  bouncer = await startPgBouncer({ serverUrl: templateUrl, poolSize: POOL_SIZE });
  dns = await startDnsServer({});
  service = await startService({ databaseUrl: bouncer.urlFor(database.name), dnsServers: [dns.address] });
});

afterAll(async () => {
  await service?.stop();
  await Promise.all([...fakes.map((f) => f.close()), dns?.close(), bouncer?.close()]);
  await database?.drop();
});

describe("the service through PgBouncer (transaction mode)", () => {
  it("runs a whole check with live events, and its report is stored", async (ctx) => {
    requireOrSkip(ctx, available);
    const fake = await startOpenRelay({ host: "127.0.0.86", port: 25 });
    fakes.push(fake);
    const before = await bouncer!.stats(database!.name);

    const created = await call("POST", "/api/v1/checks", { target: "127.0.0.86" });
    expect(created.status, JSON.stringify(created.json)).toBe(202);
    const id = created.json!.id as string;
    const { events, closedByServer } = await readEvents(`${service!.baseUrl}/api/v1/checks/${id}/events`, { headers: newClient() });
    expect(closedByServer).toBe(true);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("status");
    for (const t of ["resolved", "case-result", "server-done"]) expect(types).toContain(t);
    expect(types.at(-1)).toBe("done");

    const report = await call("GET", `/api/v1/checks/${id}`);
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({ id, status: "done", verdict: "open-relay", error: null });
    const servers = report.json!.servers as { ip: string; cases: { outcome: string }[] }[];
    expect(servers.map((s) => s.ip)).toEqual(["127.0.0.86"]);
    expect(servers[0]!.cases.some((c) => c.outcome === "accepted")).toBe(true);
    expect(fake.log.dataAttempts).toBe(0);

    // All of it went through the pooler, and is in the database.
    const after = await bouncer!.stats(database!.name);
    expect(after.transactions).toBeGreaterThan(before.transactions);
    const [row] = await direct<{ status: string; verdict: string }>(database!.directUrl, "SELECT status, verdict FROM checks WHERE id = $1", [id]);
    expect(row).toEqual({ status: "done", verdict: "open-relay" });
  });

  it("simultaneous POSTs for one target create one check (the advisory lock holds through the pooler)", async (ctx) => {
    requireOrSkip(ctx, available);
    const fake = await startClosed({ host: "127.0.0.87", port: 25 });
    fakes.push(fake);
    const answers = await Promise.all(Array.from({ length: SIMULTANEOUS_POSTS }, () => call("POST", "/api/v1/checks", { target: "127.0.0.87" })));
    expect(answers.map((a) => a.status).sort()).toEqual([...Array<number>(SIMULTANEOUS_POSTS - 1).fill(200), 202]);
    const ids = new Set(answers.map((a) => a.json!.id as string));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    const [{ count }] = (await direct<{ count: string }>(database!.directUrl, "SELECT count(*) FROM checks WHERE target = '127.0.0.87'")) as [{ count: string }];
    expect(Number(count)).toBe(1);

    const { events } = await readEvents(`${service!.baseUrl}/api/v1/checks/${id}/events`, { headers: newClient() });
    expect(events.at(-1)!.type).toBe("done");
    const report = await call("GET", `/api/v1/checks/${id}`);
    expect(report.json).toMatchObject({ id, status: "done", verdict: "not-open-relay" });
  });
});
