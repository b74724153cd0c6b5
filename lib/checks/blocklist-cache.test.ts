/**
 * The blocklist cache against the real Redis that `npm test` prepared: a round trip with its
 * expiry, a damaged or foreign entry read as a miss, keys under the deployment's prefix only.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import type { BlocklistLookup } from "@/lib/probe/types";
import { createBlocklistCache } from "./blocklist-cache";

const REDIS_URL_ENV = "RELAYCHECK_TEST_REDIS_URL";
const prefix = `rc-test-dnsbl-${randomBytes(4).toString("hex")}`;
let redis: Redis;

beforeAll(() => {
  const url = process.env[REDIS_URL_ENV];
  if (!url) throw new Error(`${REDIS_URL_ENV} is not set: run the tests with \`npm test\` (it prepares Redis).`);
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.unlink(...keys);
  redis.disconnect();
});

const lookup: BlocklistLookup = {
  subject: "192.0.2.25",
  kind: "ip",
  listed: [{ list: "Spamhaus ZEN", zone: "zen.spamhaus.org", codes: ["127.0.0.2"], meanings: ["SBL: a known spam source or spam operation"], delistUrl: "https://check.spamhaus.org/" }],
  notListed: [{ list: "SpamCop", zone: "bl.spamcop.net" }],
  couldNotQuery: [{ list: "Spamhaus DBL", zone: "dbl.spamhaus.org", problem: "error-code", reason: "refused", codes: ["127.255.255.254"] }],
  checkedAt: "2026-12-02T10:00:00.000Z",
  cached: false,
  durationMs: 12,
};

describe("blocklist cache over Redis", () => {
  it("keeps an entry for its time to live, under the prefix", async () => {
    const cache = createBlocklistCache(redis, { prefix });
    expect(await cache.get("v1:ip:192.0.2.25:abc")).toBeNull();
    await cache.set("v1:ip:192.0.2.25:abc", lookup, 60_000);
    expect(await cache.get("v1:ip:192.0.2.25:abc")).toEqual(lookup);
    const ttl = await redis.pttl(`${prefix}:v1:ip:192.0.2.25:abc`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("the operator's time to live wins over the engine's", async () => {
    await createBlocklistCache(redis, { prefix, ttlMs: 5_000 }).set("short", lookup, 60_000);
    expect(await redis.pttl(`${prefix}:short`)).toBeLessThanOrEqual(5_000);
  });

  it.each([
    ["not JSON", "{"],
    ["another shape", JSON.stringify({ subject: "192.0.2.25", listed: "yes" })],
    ["an unknown problem", JSON.stringify({ ...lookup, couldNotQuery: [{ ...lookup.couldNotQuery[0], problem: "gremlins" }] })],
  ])("reads %s as a miss", async (_what, raw) => {
    await redis.set(`${prefix}:damaged`, raw);
    expect(await createBlocklistCache(redis, { prefix }).get("damaged")).toBeNull();
  });
});
