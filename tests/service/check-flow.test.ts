/**
 * The service end to end: real PostgreSQL, Redis, worker process and HTTP server, against fake
 * SMTP servers on 127.0.0.41–49 port 25 (allowed through RELAYCHECK_ALLOW_TARGETS), resolving
 * through a local DNS server. The API is called through the client typed by the OpenAPI
 * document (./api-client.ts), which also checks every JSON response against the document.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startClosed, startOpenRelay } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { isTerminal, readEvents, type ReceivedEvent } from "./read-events";
import { bodyOf, createApiClient, type ApiClient } from "./api-client";

let service: RunningService;
let dns: LocalDnsServer;
let api: ApiClient;
const fakes: FakeServer[] = [];
let clients = 0;

/** Each test acts as a client of its own (TRUST_PROXY=1 in the harness). */
function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `198.51.100.${clients}` };
}

async function createAndFinish(target: string, headers = newClient()): Promise<{ id: string; events: ReceivedEvent[] }> {
  const { id } = bodyOf(await api.post("/api/v1/checks", { body: { target }, headers }), 202);
  const { events } = await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, { headers });
  return { id, events };
}

beforeAll(async () => {
  dns = await startDnsServer({});
  service = await startService({ dnsServers: [dns.address], env: { CHECK_FRESH_COOLDOWN_SECONDS: "60" } });
  api = await createApiClient(service.baseUrl);
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await service?.stop();
  await dns?.close();
});

describe("a check through the API", () => {
  it("runs against an open relay, streams every event exactly once across a reconnect, and serves the report", async () => {
    const fake = await startOpenRelay({ host: "127.0.0.41", port: 25 });
    fakes.push(fake);
    const client = newClient();

    const created = await api.post("/api/v1/checks", { body: { target: "127.0.0.41" }, headers: client });
    const { id, ...createdView } = bodyOf(created, 202);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(created.res.headers.get("location")).toBe(`/api/v1/checks/${id}`);
    expect(createdView).toMatchObject({ status: "queued", url: `/checks/${id}`, links: { events: `/api/v1/checks/${id}/events` } });

    // First viewer: hangs up after three events (a dropped connection).
    const eventsUrl = `${service.baseUrl}/api/v1/checks/${id}/events`;
    const first = await readEvents(eventsUrl, { until: (e) => e.length >= 3, headers: client });
    expect(first.status).toBe(200);
    expect(first.contentType).toMatch(/^text\/event-stream/);
    expect(first.closedByServer).toBe(false);
    expect(first.events).toHaveLength(3);

    // Reconnects with Last-Event-ID: the rest, up to `done`, after which the server closes.
    const lastSeen = first.events.at(-1)!.id;
    const rest = await readEvents(eventsUrl, { lastEventId: lastSeen, headers: client });
    expect(rest.closedByServer).toBe(true);
    const all = [...first.events, ...rest.events];
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)!.type).toBe("done");
    for (const e of all) {
      expect(e.data.type).toBe(e.type);
      api.validator.assert("CheckStreamEvent", e.data);
    }
    const types = all.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(["status", "status"]);
    expect(all[0]!.data).toMatchObject({ status: "queued" });
    expect(types).toContain("resolved");
    expect(types).toContain("case-result");
    expect(types).toContain("server-done");

    // A late viewer replays the same events from the start; `?lastEventId=` resumes like the header.
    const replay = await readEvents(eventsUrl, { headers: client });
    expect(replay.events.map((e) => [e.id, e.type])).toEqual(all.map((e) => [e.id, e.type]));
    expect(replay.events.at(-1)!.data).toEqual(all.at(-1)!.data);
    const resumed = await readEvents(eventsUrl, { lastEventId: all.length - 2, viaQuery: true, headers: client });
    expect(resumed.events.map((e) => e.id)).toEqual([all.length - 1, all.length]);

    // The report: the CLI's JSON fields plus the service's.
    const view = bodyOf(await api.get("/api/v1/checks/{id}", { path: { id }, headers: client }), 200);
    expect(view).toMatchObject({ id, status: "done", verdict: "open-relay", queuePosition: null, error: null, pending: [] });
    expect(view.finishedAt).not.toBeNull();
    expect(view.servers).toHaveLength(1);
    expect(view.servers[0]!.ip).toBe("127.0.0.41");
    expect(view.servers[0]!.cases.some((c) => c.outcome === "accepted")).toBe(true);
    expect(view.servers[0]!.transcript.length).toBeGreaterThan(0);
    // The done event carries the same report as the API (which adds each server's advice and summary).
    const done = all.at(-1)!.data as unknown as { report: { verdict: string; servers: unknown[] } };
    expect(done.report.verdict).toBe("open-relay");
    const servers = view.servers as unknown as ({ advice: { items: { id: string; fix?: { steps: string[] } }[] }; summary: string } & Record<string, unknown>)[];
    expect(done.report.servers).toEqual(servers.map(({ advice: _advice, summary: _summary, ...own }) => own));
    const advised = servers[0]!;
    expect(advised.advice.items[0]).toMatchObject({ id: "open-relay", fix: { steps: expect.any(Array) } });
    expect(advised.summary).toMatch(/^It relays mail for anyone/);
    expect((view as unknown as { summary: string }).summary).toBe(advised.summary);
    // And no mail was ever relayed.
    expect(fake.log.dataAttempts).toBe(0);

    // The permalink page renders the verdict.
    const page = await fetch(`${service.baseUrl}/checks/${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Open relay");

    // History of the target.
    const history = bodyOf(await api.get("/api/v1/checks", { query: { target: "127.0.0.41" }, headers: client }), 200);
    expect(history.checks.map((c) => c.id)).toContain(id);

    // A second request for the same target within the window reuses the report…
    const again = bodyOf(await api.post("/api/v1/checks", { body: { target: "127.0.0.41" }, headers: newClient() }), 200);
    expect(again).toMatchObject({ id, reused: true, status: "done" });
    // …and so does `fresh: true` within the cool-down.
    const fresh = bodyOf(await api.post("/api/v1/checks", { body: { target: "127.0.0.41", fresh: true }, headers: newClient() }), 200);
    expect(fresh).toMatchObject({ id, reused: true });
  });

  it("finishes a closed server as not an open relay, and ids are unguessable", async () => {
    fakes.push(await startClosed({ host: "127.0.0.42", port: 25 }));
    const { id, events } = await createAndFinish("127.0.0.42");
    expect(isTerminal(events)).toBe(true);
    const report = bodyOf(await api.get("/api/v1/checks/{id}", { path: { id } }), 200);
    expect(report).toMatchObject({ status: "done", verdict: "not-open-relay" });

    // 128 random bits each: distinct, URL-safe, 16 bytes once decoded, nothing sequential.
    const ids = [id];
    for (const ports of [[25, 587], [587], [465]]) {
      ids.push(bodyOf(await api.post("/api/v1/checks", { body: { target: "127.0.0.42", ports }, headers: newClient() }), 202).id);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const x of ids) expect(Buffer.from(x, "base64url")).toHaveLength(16);
  });

  it("closes the live stream's Redis reader when the viewer goes away", async () => {
    // A target that accepts the connection but never greets keeps the check running.
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(25, "127.0.0.44", r));
    const redis = new Redis(service.env.REDIS_URL!);
    try {
      const client = newClient();
      const { id } = bodyOf(await api.post("/api/v1/checks", { body: { target: "127.0.0.44" }, headers: client }), 202);
      const readers = async () => String(await redis.call("CLIENT", "LIST")).split("\n").filter((l: string) => l.includes(`name=relaycheck-sse:${service.env.REDIS_PREFIX} `)).length;
      const before = await readers();
      // Read until the check is running, then hang up while the server blocks on XREAD.
      const first = await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, {
        until: (e) => e.some((x) => x.type === "resolved"),
        headers: client,
      });
      expect(first.closedByServer).toBe(false);
      // The server notices the disconnect and closes its reader connection.
      for (let i = 0; i < 200 && (await readers()) > before; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await readers()).toBe(before);
    } finally {
      redis.disconnect();
      silent.close();
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe("what the API refuses", () => {
  const badTargets: [string, string][] = [
    ["CR/LF injection", "example.com\r\nRCPT TO:<x@y>"],
    ["NUL", "example.com\u0000"],
    ["localhost", "localhost"],
    ["loopback outside the allow-list", "::1"],
    ["private address", "10.0.0.1"],
    ["private address (192.168)", "192.168.1.1"],
    ["cloud metadata", "169.254.169.254"],
    ["CGNAT", "100.64.0.1"],
    ["a URL", "http://example.com/"],
    ["a port", "mail.example.com:25"],
    ["user@", "postmaster@example.com"],
    ["decimal IPv4", "2130706433"],
    ["empty", "   "],
  ];
  it.each(badTargets)("400 for %s", async (_what, target) => {
    const { error } = bodyOf(await api.post("/api/v1/checks", { body: { target }, headers: newClient() }), 400);
    expect(["invalid_target", "target_refused", "bad_request"]).toContain(error.code);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it("400 for a port that is not SMTP, malformed JSON, unknown fields; 413 for a large body", async () => {
    const port = bodyOf(await api.post("/api/v1/checks", { body: { target: "127.0.0.45", ports: [2525] }, headers: newClient() }), 400);
    expect(port).toMatchObject({ error: { code: "target_refused" } });

    const malformed = bodyOf(await api.post("/api/v1/checks", { body: { raw: '{"target": "example.com"' }, headers: newClient() }), 400);
    expect(malformed).toEqual({ error: { code: "bad_request", message: "The request body is not valid JSON." } });

    const unknown = await api.post("/api/v1/checks", { body: { raw: JSON.stringify({ target: "example.com", sendData: true }) }, headers: newClient() });
    expect(unknown.status).toBe(400);

    const large = await api.post("/api/v1/checks", { body: { target: "a".repeat(20_000) }, headers: newClient() });
    expect(large.status).toBe(413);
  });

  it("404 for unknown or malformed ids; 400 without a target to list", async () => {
    for (const id of ["AAAAAAAAAAAAAAAAAAAAAA", "1", "..%2F..%2Fetc"]) {
      // The path goes as it is (the last one is already escaped).
      const r = await fetch(`${service.baseUrl}/api/v1/checks/${id}`);
      expect(r.status).toBe(404);
      api.validator.assert("Error", await r.json());
      const sse = await fetch(`${service.baseUrl}/api/v1/checks/${id}/events`);
      expect(sse.status).toBe(404);
    }
    const list = await api.get("/api/v1/checks", { query: {} as { target: string } });
    expect(list.status).toBe(400);
  });

  it("answers with security headers", async () => {
    const page = await fetch(`${service.baseUrl}/`);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline' 'strict");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    // Every script Next emits carries this request's nonce.
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);

    const apiRes = await fetch(`${service.baseUrl}/api/health`);
    expect(apiRes.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(apiRes.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("health is 200 with both dependencies up", async () => {
    const health = bodyOf(await api.get("/api/health"), 200);
    expect(health).toEqual({ status: "ok", checks: { database: "ok", redis: "ok" } });
  });
});
