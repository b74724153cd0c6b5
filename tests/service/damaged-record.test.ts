/**
 * A check whose stored rows were damaged on purpose (as a manual edit, a writer's bug or a
 * version this service cannot read would) is reported clearly where it is read: the API answers
 * 500 `damaged_record`, the page shows the error page, the live stream ends, and the service's
 * log names the check and the damaged place. Repairing the row brings the report back.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { bodyOf, createApiClient, type ApiClient } from "./api-client";
import { readEvents } from "./read-events";

const TARGET = "127.0.0.91";
const DAMAGED = "stored check data is damaged";
const LOG_WAIT_MS = 5_000;

let service: RunningService;
let dns: LocalDnsServer;
let fake: FakeServer;
let api: ApiClient;
let db: pg.Client;
let checkId: string;

beforeAll(async () => {
  dns = await startDnsServer({});
  fake = await startClosed({ host: TARGET, port: 25 });
  service = await startService({ dnsServers: [dns.address] });
  api = await createApiClient(service.baseUrl);
  db = new pg.Client({ connectionString: service.env.DATABASE_URL });
  await db.connect();

  checkId = bodyOf(await api.post("/api/v1/checks", { body: { target: TARGET } }), 202).id;
  const { events } = await readEvents(`${service.baseUrl}/api/v1/checks/${checkId}/events`);
  expect(events.at(-1)?.type).toBe("done");
}, 120_000);

afterAll(async () => {
  await db?.end();
  await service?.stop();
  await fake?.close();
  await dns?.close();
});

/** The service's log lines (JSON) that report damage, once they are written. */
async function damageLogged(what: string): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + LOG_WAIT_MS;
  for (;;) {
    const lines = service
      .logs()
      .split("\n")
      .filter((l) => l.includes(DAMAGED) && l.includes(what))
      .flatMap((l) => {
        try {
          return [JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>];
        } catch {
          return []; // a line split between two chunks of output
        }
      });
    if (lines.length > 0 || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a check with damaged stored data", () => {
  it("a server report that does not match its schema: 500 damaged_record, the error page, a log line; fine again once repaired", async () => {
    const { rows } = await db.query<{ report: unknown }>("SELECT report FROM check_servers WHERE check_id = $1", [checkId]);
    expect(rows).toHaveLength(1);
    await db.query(`UPDATE check_servers SET report = jsonb_set(report, '{family}', '5') WHERE check_id = $1`, [checkId]);
    try {
      const answer = await api.get("/api/v1/checks/{id}", { path: { id: checkId } });
      const { error } = bodyOf(answer, 500);
      expect(error.code).toBe("damaged_record");
      expect(error.message).toContain(checkId);

      // The live stream refuses before it starts, the same way.
      const stream = await fetch(`${service.baseUrl}/api/v1/checks/${checkId}/events`);
      expect(stream.status).toBe(500);
      expect(await stream.json()).toMatchObject({ error: { code: "damaged_record" } });

      // The page: Next's error shell (app/error.tsx shows in the browser), not a half-rendered report.
      const page = await fetch(`${service.baseUrl}/checks/${checkId}`);
      expect(page.status).toBe(500);
      const html = await page.text();
      expect(html).toContain('id="__next_error__"');
      expect(html).not.toContain("Not an open relay");

      const logged = await damageLogged("check_servers.report");
      expect(logged.length).toBeGreaterThan(0);
      expect(logged[0]).toMatchObject({ level: 50, checkId, what: `check_servers.report (${TARGET}:25)` });
      expect(JSON.stringify(logged[0]!.issues)).toContain("family");
    } finally {
      await db.query("UPDATE check_servers SET report = $2 WHERE check_id = $1", [checkId, JSON.stringify(rows[0]!.report)]);
    }
    const repaired = bodyOf(await api.get("/api/v1/checks/{id}", { path: { id: checkId } }), 200);
    expect(repaired).toMatchObject({ id: checkId, status: "done", verdict: "not-open-relay" });
  });

  it("a stored event that does not match its schema: the replay ends without it and the log names the event", async () => {
    // Events are stored a batch to a row: damage the first case-result of its row.
    const { rows } = await db.query<{ first: number; data: string }>("SELECT seq AS first, data FROM check_events WHERE check_id = $1 ORDER BY seq", [checkId]);
    const row = rows.find((r) => (JSON.parse(r.data) as { type: string }[]).some((e) => e.type === "case-result"))!;
    expect(row).toBeDefined();
    const batch = JSON.parse(row.data) as { type: string }[];
    const index = batch.findIndex((e) => e.type === "case-result");
    const seq = row.first + index;
    const damaged = batch.map((e, i) => (i === index ? { type: "case-result", t: "soon" } : e));
    await db.query("UPDATE check_events SET data = $3 WHERE check_id = $1 AND seq = $2", [checkId, row.first, JSON.stringify(damaged)]);
    try {
      // The server ends the stream (its body errors or simply ends): never a `done` after the damage.
      const replay = await readEvents(`${service.baseUrl}/api/v1/checks/${checkId}/events`).then(
        (r) => r.events.map((e) => e.type),
        () => [],
      );
      expect(replay).not.toContain("done");
      const logged = await damageLogged(`check_events.data (seq ${seq})`);
      expect(logged[0]).toMatchObject({ checkId });
    } finally {
      await db.query("UPDATE check_events SET data = $3 WHERE check_id = $1 AND seq = $2", [checkId, row.first, row.data]);
    }
    const { events } = await readEvents(`${service.baseUrl}/api/v1/checks/${checkId}/events`);
    expect(events.at(-1)?.type).toBe("done");
  });
});
