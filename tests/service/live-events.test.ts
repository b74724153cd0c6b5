/**
 * Live events (SSE) at scale, end to end: real PostgreSQL, Redis, web server and worker.
 * - Many viewers of one running check each get every event exactly once while the web process
 *   holds ONE Redis reader connection (CLIENT LIST, by the reader's connection name).
 * - The per-client cap of open streams (429, freed when a viewer goes) and the process cap (503).
 * - Streams end at their maximum lifetime; a reconnect with Last-Event-ID resumes exactly once.
 * - A terminal event that reached PostgreSQL only (written here with the database, not Redis)
 *   still ends the stream, through the per-check status poll.
 *
 * Checks are held at a gated TCP proxy (tests/support/gated-proxy.ts) so that they stay running
 * while viewers connect; checks without a worker are driven by this test with the worker's own
 * event writer (lib/checks/record-check-event.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createParser } from "eventsource-parser";
import { startService, type RunningService } from "@/tests/support/service";
import { startGatedProxy, type GatedProxy } from "@/tests/support/gated-proxy";
import { startFakeSmtp, type BrowserFake } from "@/tests/browser/support/fake-smtp";
import { parseEnv } from "@/lib/env";
import { closeCheckServices, createCheckServices, type CheckServices, type CheckStreamEvent } from "@/lib/checks";
import { recordCheckEvents, storeCheckEvents } from "@/lib/checks/record-check-event";
import { checkStreamKey } from "@/lib/events/check-stream";
import { readEvents, type ReceivedEvent } from "./read-events";

// Loopback addresses of this file's fakes and proxies (port 25), apart from other test files'.
const FAKE = "127.0.0.181";
const CROWD_PROXY = "127.0.0.182";
const HELD_PROXY = "127.0.0.183";
const POLL_PROXY = "127.0.0.184";

let withWorker: RunningService;
let noWorker: RunningService;
let fake: BrowserFake;
const proxies: GatedProxy[] = [];
let redis: Redis;
let clients = 0;

/** A client of its own (TRUST_PROXY=1 in the harness). */
function newClient(): Record<string, string> {
  clients++;
  return { "x-forwarded-for": `198.18.${clients >> 8}.${clients & 255}` };
}

async function createCheck(service: RunningService, target: string): Promise<string> {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...newClient() },
    body: JSON.stringify({ target }),
  });
  const body = (await res.json()) as { id: string };
  expect(res.status, `${JSON.stringify(body)}\n${service.logs().split("\n").slice(-15).join("\n")}`).toBe(202);
  return body.id;
}

/** Blocking Redis connections of the web process's live-event reader. */
async function readerConnections(service: RunningService): Promise<number> {
  const list = String(await redis.call("CLIENT", "LIST"));
  return list.split("\n").filter((l) => l.includes(`name=relaycheck-sse:${service.env.REDIS_PREFIX} `)).length;
}

interface Followed {
  events: ReceivedEvent[];
  /** HTTP responses it took (1 + reconnects). */
  connections: number;
  /** Comments of streams the server ended without a terminal event. */
  endComments: string[];
}

interface Follower {
  /** What it has so far. */
  progress: Followed;
  /** Resolves when the first response has started (the server has the viewer registered). */
  connected: Promise<number>;
  result: Promise<Followed>;
  stop(): void;
}

/**
 * A viewer that behaves like the browser's EventSource: on a stream the server ends without
 * `done`/`failed`, it reconnects with Last-Event-ID (unless `reconnect: false`); it stops at a
 * terminal event, at a non-200 answer (an EventSource gives up), or when stopped.
 */
function follow(url: string, headers: Record<string, string>, options: { reconnect?: boolean } = {}): Follower {
  const abort = new AbortController();
  let onConnected!: (status: number) => void;
  const connected = new Promise<number>((r) => (onConnected = r));
  const out: Followed = { events: [], connections: 0, endComments: [] };
  const run = async (): Promise<Followed> => {
    try {
      for (;;) {
        const last = out.events.at(-1)?.id;
        const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers, ...(last ? { "last-event-id": String(last) } : {}) }, signal: abort.signal });
        out.connections++;
        onConnected(response.status);
        if (response.status !== 200 || !response.body) return out;
        let terminal = false;
        const comments: string[] = [];
        const parser = createParser({
          onEvent(m) {
            out.events.push({ id: Number(m.id), type: m.event ?? "message", data: JSON.parse(m.data) });
            if (m.event === "done" || m.event === "failed") terminal = true;
          },
          onComment: (c) => comments.push(c),
        });
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(decoder.decode(chunk.value, { stream: true }));
        if (terminal) return out;
        out.endComments.push(...comments.filter((c) => /^\s*end \(/.test(c)));
        if (options.reconnect === false) return out;
      }
    } catch (e) {
      if (abort.signal.aborted) return out;
      throw e;
    }
  };
  return { progress: out, connected, result: run(), stop: () => abort.abort() };
}

const ids = (events: ReceivedEvent[]) => events.map((e) => e.id);

beforeAll(async () => {
  redis = new Redis(process.env.RELAYCHECK_TEST_REDIS_URL!, { maxRetriesPerRequest: 1 });
  fake = await startFakeSmtp({ host: FAKE, behaviour: "open", replyDelayMs: 20 });
  for (const host of [CROWD_PROXY, HELD_PROXY, POLL_PROXY]) proxies.push(await startGatedProxy({ host, port: 25, upstream: { host: FAKE, port: 25 } }));
  [withWorker, noWorker] = await Promise.all([
    startService({ env: { SSE_STATUS_POLL_MS: "300", PROBE_GREETING_TIMEOUT_MS: "120000" } }),
    // This one leaves the streams to the Next route (the fallback under `next start`), so that the
    // tests below cover both ways a stream is written.
    startService({ worker: false, env: { SSE_MAX_LIFETIME_SECONDS: "2", SSE_MAX_STREAMS: "4", RELAYCHECK_SSE_VIA_NEXT: "1" } }),
  ]);
}, 180_000);

afterAll(async () => {
  // Closing the proxies ends the probes they held, so the worker stops promptly.
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([withWorker?.stop(), noWorker?.stop()]);
  await fake?.close();
  redis?.disconnect();
});

describe("live events for many viewers", () => {
  it("gives 200 viewers of one running check every event exactly once, over one Redis reader", { timeout: 180_000 }, async () => {
    const crowd = proxies[0]!;
    const id = await createCheck(withWorker, CROWD_PROXY);
    const url = `${withWorker.baseUrl}/api/v1/checks/${id}/events`;

    // 100 viewers while the check is held at the proxy (the worker has connected: it is running)…
    const early = Array.from({ length: 100 }, () => follow(url, newClient()));
    expect(new Set(await Promise.all(early.map((f) => f.connected)))).toEqual(new Set([200]));
    await crowd.accepted(1);
    expect(await readerConnections(withWorker)).toBe(1);

    // …then 100 more join while the events flow.
    crowd.open();
    const late = Array.from({ length: 100 }, () => follow(url, newClient()));
    const results = await Promise.all([...early, ...late].map((f) => f.result));
    expect(await readerConnections(withWorker)).toBe(1);

    // The reference: a replay from PostgreSQL after the end.
    const replay = await readEvents(url, { headers: newClient() });
    const reference = replay.events.map((e) => [e.id, e.type]);
    expect(reference.at(-1)![1]).toBe("done");
    expect(ids(replay.events)).toEqual(replay.events.map((_, i) => i + 1));
    for (const r of results) {
      expect(r.connections).toBe(1);
      expect(r.events.map((e) => [e.id, e.type])).toEqual(reference);
    }
    // The stream's own copy of `done` carries the same report as the replay's.
    expect(results[0]!.events.at(-1)!.data).toEqual(replay.events.at(-1)!.data);

    // A viewer who has everything of a finished check gets 204: an EventSource stops there.
    const after = await fetch(url, { headers: { ...newClient(), "last-event-id": String(replay.events.length) } });
    expect(after.status).toBe(204);
  });

  it("caps the open streams of one client (429 with Retry-After) and frees a place when a viewer goes", async () => {
    const id = await createCheck(withWorker, HELD_PROXY);
    const url = `${withWorker.baseUrl}/api/v1/checks/${id}/events`;
    const client = newClient();
    const open = Array.from({ length: 20 }, () => follow(url, client));
    expect(new Set(await Promise.all(open.map((f) => f.connected)))).toEqual(new Set([200]));

    const refused = await fetch(url, { headers: client });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/open event streams.*at most 20/);

    // Another client is not affected.
    const other = follow(url, newClient());
    expect(await other.connected).toBe(200);

    // One viewer goes; once the server has noticed, the client may open another.
    open[0]!.stop();
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      const res = await fetch(url, { headers: client, signal: AbortSignal.timeout(5000) }).catch(() => null);
      status = res?.status ?? 0;
      if (status === 200) await res!.body?.cancel();
      else await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(200);
    for (const f of [...open, other]) f.stop();
    await Promise.all([...open, other].map((f) => f.result));
  });

  it("ends the stream of a check whose terminal event reached PostgreSQL only, at the status poll", async () => {
    const held = proxies[2]!;
    const id = await createCheck(withWorker, POLL_PROXY);
    const url = `${withWorker.baseUrl}/api/v1/checks/${id}/events`;
    const viewer = follow(url, newClient(), { reconnect: false });
    expect(await viewer.connected).toBe(200);
    await held.accepted(1);

    // The worker holds the check; its `failed` goes to PostgreSQL alone, as when Redis was down.
    const services = testServices(withWorker);
    try {
      const [seq] = await storeCheckEvents(services.db, id, [{ type: "failed", t: 1, error: { code: "internal", message: "written to PostgreSQL only" } }]);
      const { events, connections } = await viewer.result;
      expect(connections).toBe(1);
      expect(events.at(-1)).toMatchObject({ id: seq, type: "failed", data: { error: { message: "written to PostgreSQL only" } } });
      expect(ids(events)).toEqual(events.map((_, i) => i + 1));
      const inRedis = await redis.xrange(checkStreamKey(withWorker.env.REDIS_PREFIX!, id), "-", "+");
      expect(inRedis.map(([entryId]) => entryId)).not.toContain(`${seq}-0`);
    } finally {
      await closeCheckServices(services);
    }
  });
});

describe("who writes the stream", () => {
  it("is the web server itself (not Next's route), with the same security headers as every API answer", async () => {
    const id = await createCheck(noWorker, "127.0.0.187");
    const services = testServices(noWorker);
    try {
      await recordCheckEvents(services, id, [{ type: "failed", t: 0, error: { code: "internal", message: "the end" } }]);
    } finally {
      await closeCheckServices(services);
    }
    const own = await fetch(`${withWorker.baseUrl}/api/v1/checks/AAAAAAAAAAAAAAAAAAAAAA/events`, { headers: newClient() });
    const viaNext = await fetch(`${noWorker.baseUrl}/api/v1/checks/${id}/events`, { headers: newClient() });
    expect(own.status).toBe(404);
    expect(viaNext.status).toBe(200);
    for (const res of [own, viaNext]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
    // Next's route answers vary on its router headers; the web server's own handler does not.
    expect(own.headers.get("vary")).toBeNull();
    expect(viaNext.headers.get("vary")).toMatch(/rsc/i);
    await viaNext.body?.cancel();
    const read = await readEvents(`${noWorker.baseUrl}/api/v1/checks/${id}/events`, { headers: newClient() });
    expect(read.events.map((e) => e.type)).toEqual(["status", "failed"]);
    expect(read.closedByServer).toBe(true);
  });
});

describe("streams that end and resume", () => {
  it("ends each stream at its maximum lifetime; the viewer reconnects with Last-Event-ID and gets every event once", async () => {
    const id = await createCheck(noWorker, "127.0.0.185");
    const url = `${noWorker.baseUrl}/api/v1/checks/${id}/events`;
    const services = testServices(noWorker);
    try {
      await recordCheckEvents(services, id, [{ type: "status", t: 0, status: "running" }]);

      // A client that does not reconnect sees the server end the stream, and why.
      const single = await follow(url, newClient(), { reconnect: false }).result;
      expect(single.connections).toBe(1);
      expect(single.endComments).toEqual([expect.stringMatching(/^\s*end \(lifetime\): reconnect with Last-Event-ID$/)]);
      expect(ids(single.events)).toEqual([1, 2]); // queued (written at creation), running

      // A viewer like EventSource, while events keep coming, until its stream was cut twice.
      const viewer = follow(url, newClient());
      expect(await viewer.connected).toBe(200);
      const written: CheckStreamEvent[] = [];
      for (let n = 1; viewer.progress.connections < 3 && n <= 2000; n++) {
        const event: CheckStreamEvent = { type: "attempt", t: n, attempt: n, reason: "an event that keeps the stream busy" };
        written.push(event);
        await recordCheckEvents(services, id, [event]);
        await new Promise((r) => setTimeout(r, 20)); // pacing of the writer, not a wait for a result
      }
      await recordCheckEvents(services, id, [{ type: "failed", t: 0, error: { code: "internal", message: "the end" } }]);

      const { events, connections, endComments } = await viewer.result;
      expect(connections).toBeGreaterThanOrEqual(3);
      expect(endComments).toHaveLength(connections - 1);
      for (const c of endComments) expect(c).toMatch(/end \(lifetime\)/);
      expect(ids(events)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)!.type).toBe("failed");
      expect(events.filter((e) => e.type === "attempt").map((e) => e.data)).toEqual(written);
    } finally {
      await closeCheckServices(services);
    }
  }, 90_000);

  it("answers 503 with Retry-After past the process's cap of open streams", async () => {
    const id = await createCheck(noWorker, "127.0.0.186");
    const url = `${noWorker.baseUrl}/api/v1/checks/${id}/events`;
    const open = Array.from({ length: 4 }, () => follow(url, newClient(), { reconnect: false }));
    expect(new Set(await Promise.all(open.map((f) => f.connected)))).toEqual(new Set([200]));
    const refused = await fetch(url, { headers: newClient() });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    for (const f of open) f.stop();
    await Promise.all(open.map((f) => f.result));
  });
});

/** The worker's own event writer and database client, on a service's database and Redis prefix. */
function testServices(service: RunningService): CheckServices {
  return createCheckServices(parseEnv(service.env), "test-writer");
}
