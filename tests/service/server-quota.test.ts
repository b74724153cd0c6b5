/**
 * Issue 8 item 12: probes are counted per server address, whatever name led to it. Two names
 * whose only address is one fake server: with one probe per window allowed, the second check
 * reports that server "rate-limited" and never connects to it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { readEvents } from "./read-events";

const HOST = "127.0.0.227";
let service: RunningService;
let dns: LocalDnsServer;
let fake: FakeServer;

beforeAll(async () => {
  fake = await startClosed({ host: HOST, port: 25 });
  dns = await startDnsServer({ a: { "one.quota.test": [HOST], "two.quota.test": [HOST] } });
  service = await startService({
    dnsServers: [dns.address],
    env: { RELAYCHECK_ALLOW_RESERVED_NAMES: "true", RATE_LIMIT_SERVER_POINTS: "1", RATE_LIMIT_SERVER_WINDOW_SECONDS: "3600" },
  });
});

afterAll(async () => {
  await service?.stop();
  await dns?.close();
  await fake?.close();
});

async function runCheck(target: string, client: string): Promise<{ verdict: string; servers: { status: string; statusDetail: string | null; verdict: string }[] }> {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": client },
    body: JSON.stringify({ target }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, { headers: { "x-forwarded-for": client } });
  return (await (await fetch(`${service.baseUrl}/api/v1/checks/${id}`, { headers: { "x-forwarded-for": client } })).json()) as never;
}

describe("the per-server-address probe limit", () => {
  it("counts a server address across the names that lead to it", async () => {
    const first = await runCheck("one.quota.test", "203.0.113.201");
    expect(first.servers[0]!.status).toBe("ok");
    const connections = fake.log.connections;

    const second = await runCheck("two.quota.test", "203.0.113.202");
    expect(second.servers[0]!.status).toBe("rate-limited");
    expect(second.servers[0]!.statusDetail).toMatch(/probed too often lately.*Try again in \d+ s/);
    expect(second.servers[0]!.verdict).toBe("inconclusive");
    expect(second.verdict).toBe("inconclusive");
    expect(fake.log.connections).toBe(connections);
  });
});
