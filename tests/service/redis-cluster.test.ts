/**
 * The service, unchanged, on a Redis Cluster of three masters (tests/support/own-redis-cluster.ts)
 * and no other Redis (REDIS_URL points at a closed port): a check goes through the queue, the
 * worker, the live stream and SSE to `done`; the per-client limit answers 429; the per-server
 * probe slot holds two checks of one server to one probe at a time; the periodic jobs' schedulers
 * exist; and the keys sit where lib/queue/redis-keys.ts says: the queue in one slot, the live
 * streams in another one on another master, the rate limits spread over the masters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, Redis } from "ioredis";
import { Queue } from "bullmq";
import { freePort, startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { redisClusterAvailable, startOwnRedisCluster, type OwnRedisCluster } from "@/tests/support/own-redis-cluster";
import { requireOrSkip } from "@/tests/support/require";
import { startDelayedGreeting } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { readEvents } from "./read-events";

const HOST = "127.0.0.140";
const PREFIX = "relaycheck";
const READS_PER_MINUTE = 8;
const available = redisClusterAvailable()
  ? { ok: true }
  : { ok: false, reason: "redis-server or redis-cli is not installed: apt-get install redis-server" };

let cluster: OwnRedisCluster;
let dns: LocalDnsServer;
let fake: FakeServer;
let service: RunningService;
let clients = 0;

/** A client of its own (TRUST_PROXY=1 in the harness): every limit counts per client. */
function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `198.51.100.${clients}` };
}

beforeAll(async () => {
  if (!available.ok) return;
  cluster = await startOwnRedisCluster({ masters: 3 });
  // A slow greeting keeps the first probe on the server while the second one asks for its slot.
  fake = await startDelayedGreeting({ host: HOST, port: 25, delayMs: 400 });
  dns = await startDnsServer({ a: { "one.cluster.test": [HOST], "two.cluster.test": [HOST] } });
  service = await startService({
    dnsServers: [dns.address],
    env: {
      REDIS_CLUSTER_NODES: cluster.nodes.join(","),
      // Nothing may reach a single Redis: this one does not exist.
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS_PREFIX: PREFIX,
      RELAYCHECK_ALLOW_RESERVED_NAMES: "true",
      RELAYCHECK_DNSBLS: "off",
      RATE_LIMIT_READS_PER_MINUTE: String(READS_PER_MINUTE),
      RELAYCHECK_MAX_CHECKS_PER_SERVER: "1",
    },
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await fake?.close();
  await dns?.close();
  await cluster?.close();
});

async function post(target: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ target }) });
  expect(res.status, service.logs().slice(-3000)).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Every key of each master, by node. */
async function keysByNode(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const node of cluster.nodes) {
    const redis = new Redis(`redis://${node}`, { maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, "COUNT", 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0");
      out.set(node, keys);
    } finally {
      redis.disconnect();
    }
  }
  return out;
}

const nodesHolding = (byNode: Map<string, string[]>, prefix: string) => [...byNode].filter(([, keys]) => keys.some((k) => k.startsWith(prefix))).map(([node]) => node);

describe("on a Redis Cluster of three masters", () => {
  it("runs two checks of one server through queue, worker and SSE to done, one probe of the server at a time", async (ctx) => {
    requireOrSkip(ctx, available);
    const a = newClient();
    const b = newClient();
    const [first, second] = [await post("one.cluster.test", a), await post("two.cluster.test", b)];
    const [eventsA, eventsB] = await Promise.all([
      readEvents(`${service.baseUrl}/api/v1/checks/${first}/events`, { headers: a }),
      readEvents(`${service.baseUrl}/api/v1/checks/${second}/events`, { headers: b }),
    ]);
    for (const { events, closedByServer } of [eventsA, eventsB]) {
      expect(closedByServer).toBe(true);
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      expect(events.map((e) => e.type)).toContain("connected");
      expect(events.at(-1)!.type).toBe("done");
    }
    for (const [id, headers] of [[first, a], [second, b]] as const) {
      const report = (await (await fetch(`${service.baseUrl}/api/v1/checks/${id}`, { headers })).json()) as { status: string; verdict: string; servers: { status: string }[] };
      expect(report).toMatchObject({ status: "done", verdict: "not-open-relay" });
      expect(report.servers.map((s) => s.status)).toEqual(["ok"]);
    }
    // The server slot (a Lua script on the cluster) let one probe at a time on the server: the
    // second waited for it, and the server never saw more than one probe's two connections.
    expect(service.logs()).toMatch(/waiting for a free slot on the server/);
    expect(fake.log.maxConcurrent).toBeLessThanOrEqual(2);
    expect(fake.log.dataAttempts).toBe(0);
  });

  it("answers 429 past the per-client request limit", async (ctx) => {
    requireOrSkip(ctx, available);
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i <= READS_PER_MINUTE; i++) {
      statuses.push((await fetch(`${service.baseUrl}/api/v1/checks?target=one.cluster.test`, { headers: client })).status);
    }
    expect(statuses.slice(0, READS_PER_MINUTE)).toEqual(Array(READS_PER_MINUTE).fill(200));
    expect(statuses.at(-1)).toBe(429);
  });

  it("keeps the periodic jobs' schedulers in the hash-tagged queue", async (ctx) => {
    requireOrSkip(ctx, available);
    const connection = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: null } });
    const queue = new Queue("checks", { connection, prefix: `{${PREFIX}}` });
    try {
      const names = (await queue.getJobSchedulers()).map((s) => s.key);
      expect(names).toEqual(expect.arrayContaining(["purge-expired", "reconcile-checks", "sweep-monitors"]));
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it("puts the queue and the live streams each in one slot, on different masters, and spreads the rate limits", async (ctx) => {
    requireOrSkip(ctx, available);
    // Requests of a dozen more clients: a rate-limit key each.
    for (let i = 0; i < 12; i++) expect((await fetch(`${service.baseUrl}/api/v1/checks?target=two.cluster.test`, { headers: newClient() })).status).toBe(200);
    const byNode = await keysByNode();
    const queueNodes = nodesHolding(byNode, `{${PREFIX}}:checks:`);
    const streamNodes = nodesHolding(byNode, `{${PREFIX}:streams}:check:`);
    const rateLimitNodes = nodesHolding(byNode, `${PREFIX}:rl:`);
    expect(queueNodes).toEqual([await cluster.nodeOfKey(`{${PREFIX}}`)]);
    expect(streamNodes).toEqual([await cluster.nodeOfKey(`{${PREFIX}:streams}`)]);
    expect(streamNodes[0]).not.toBe(queueNodes[0]);
    expect(rateLimitNodes.length).toBeGreaterThanOrEqual(2);
    // Nothing of ours outside those groups (and nothing under the single-server names of the queue or streams).
    const all = [...byNode.values()].flat();
    expect(all.filter((k) => !/^(\{relaycheck\}:checks:|\{relaycheck:streams\}:check:|relaycheck:(rl|server-slots|dnsbl):)/.test(k))).toEqual([]);
  });
});
