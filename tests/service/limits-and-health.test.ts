/**
 * Abuse limits and health, each on an instance configured for it:
 * - rate limits per client and per target (429 + Retry-After + RateLimit-*), with
 *   X-Forwarded-For ignored when TRUST_PROXY is off;
 * - only new probes spend the client's check points: invalid input and reused reports do not;
 * - /api/health answering 503 when PostgreSQL or Redis cannot be reached.
 */
import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { readEvents } from "./read-events";
import { loadOpenApi } from "./openapi-validator";

const running: RunningService[] = [];
const fakes: FakeServer[] = [];

afterAll(async () => {
  await Promise.all([...running.map((s) => s.stop()), ...fakes.map((f) => f.close())]);
});

async function start(options: Parameters<typeof startService>[0]): Promise<RunningService> {
  const service = await startService(options);
  running.push(service);
  return service;
}

async function post(service: RunningService, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { res, json: (await res.json()) as { id?: string; error?: { code: string; message: string } } };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

// Each test starts its own service inside it (web and worker): give a loaded machine time.
describe("rate limits", { timeout: 90_000 }, () => {
  it("limits new probes per target and requests per client, and ignores X-Forwarded-For unless trusted", async () => {
    fakes.push(await startClosed({ host: "127.0.0.43", port: 25 }));
    const service = await start({
      env: {
        TRUST_PROXY: "false",
        RATE_LIMIT_CLIENT_POINTS: "3",
        RATE_LIMIT_TARGET_POINTS: "1",
        CHECK_REUSE_WINDOW_SECONDS: "0",
      },
    });
    const api = await loadOpenApi(service.baseUrl);

    // 1: a new check (client 1/3, target 1/1), run to the end.
    const first = await post(service, { target: "127.0.0.43" });
    expect(first.res.status).toBe(202);
    expect(first.res.headers.get("ratelimit-limit")).toMatch(/^\d+$/);
    expect(first.res.headers.get("ratelimit-remaining")).toMatch(/^\d+$/);
    expect(first.res.headers.get("ratelimit-reset")).toMatch(/^\d+$/);
    await readEvents(`${service.baseUrl}/api/v1/checks/${first.json.id}/events`);

    // 2: nothing to reuse (window 0), and the target's limit is spent → 429.
    const second = await post(service, { target: "127.0.0.43" });
    expect(second.res.status).toBe(429);
    api.assert("Error", second.json);
    expect(second.json.error).toMatchObject({ code: "rate_limited" });
    expect(second.json.error!.message).toMatch(/this target/);
    expect(Number(second.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(second.res.headers.get("ratelimit-remaining")).toBe("0");

    // 3 and 4: other "clients" by X-Forwarded-For, but the proxy is not trusted: the same client,
    // whose third check point (the second went with the refused probe) goes to a new target.
    const third = await post(service, { target: "127.0.12.1" }, { "x-forwarded-for": "203.0.113.9" });
    expect(third.res.status).toBe(202);
    const fourth = await post(service, { target: "127.0.12.2" }, { "x-forwarded-for": "198.51.100.77" });
    expect(fourth.res.status).toBe(429);
    api.assert("Error", fourth.json);
    expect(fourth.json.error!.message).toMatch(/your address/);
    expect(Number(fourth.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(fourth.res.headers.get("ratelimit-limit")).toBe("3");
  });
});

describe("only new probes count against a client's check limit", () => {
  it("ten invalid POSTs, then a valid one succeeds; reused reports cost nothing either", async () => {
    fakes.push(await startClosed({ host: "127.0.12.10", port: 25 }));
    const service = await start({ env: { RATE_LIMIT_CLIENT_POINTS: "2" } });
    const client = { "x-forwarded-for": "203.0.113.61" };
    const typos = [
      "mail.example.com:25",
      "http://",
      "user@example.com",
      "exa mple.com",
      "localhost",
      "10.0.0.1",
      "-bad-.example.com",
      "example..com",
      "256.1.1.1",
      "mail\r\nRCPT TO:<x>",
    ];
    for (const target of typos) {
      const r = await post(service, { target }, client);
      expect(r.res.status, `${target}: ${JSON.stringify(r.json)}`).toBe(400);
      expect(r.json.error?.code).toMatch(/^(invalid_target|target_refused)$/);
    }

    // The typos spent nothing: a valid target gets its check, with 1 of 2 points left.
    const first = await post(service, { target: "127.0.12.10" }, client);
    expect(first.res.status, JSON.stringify(first.json)).toBe(202);
    expect(first.res.headers.get("ratelimit-remaining")).toBe("1");
    await readEvents(`${service.baseUrl}/api/v1/checks/${first.json.id}/events`, { headers: client });

    // The same target again: the report is reused, and costs nothing (the headers still say 1).
    for (let i = 0; i < 3; i++) {
      const again = await post(service, { target: "127.0.12.10" }, client);
      expect(again.res.status).toBe(200);
      expect(again.json.id).toBe(first.json.id);
      expect(again.res.headers.get("ratelimit-remaining")).toBe("1");
    }

    // New probes do count: the second point, then 429.
    expect((await post(service, { target: "127.0.12.11" }, client)).res.status).toBe(202);
    const spent = await post(service, { target: "127.0.12.12" }, client);
    expect(spent.res.status).toBe(429);
    expect(spent.json.error!.message).toMatch(/checks from your address/);
    // A reused report is still served once the points are spent.
    expect((await post(service, { target: "127.0.12.10" }, client)).res.status).toBe(200);
  }, 90_000);
});

describe("health", { timeout: 90_000 }, () => {
  it("is 503 when Redis cannot be reached", async () => {
    const service = await start({ worker: false, env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` } });
    const res = await fetch(`${service.baseUrl}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "down", checks: { database: "ok", redis: "down" } });
  });

  it("is 503 when PostgreSQL cannot be reached, and the API answers 503 without internals", async () => {
    const service = await start({ worker: false, databaseUrl: `postgresql://postgres@127.0.0.1:${await closedPort()}/relaycheck` });
    const res = await fetch(`${service.baseUrl}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "down", checks: { database: "down", redis: "ok" } });

    // The API says the service is unavailable: no stack, no internal message.
    const check = await fetch(`${service.baseUrl}/api/v1/checks/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(check.status).toBe(503);
    const text = await check.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "unavailable", message: "The service is temporarily unavailable. Please try again shortly." } });
    expect(text).not.toMatch(/ECONNREFUSED|at |prisma|5432/i);
  });
});
