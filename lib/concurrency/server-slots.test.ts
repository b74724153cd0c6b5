/**
 * The per-server semaphore against the real Redis that `npm test` prepared: two acquirers, the
 * limit, release, lease renewal and expiry (a dead holder), a wiped lease, abort while waiting.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis } from "ioredis";
import { createServerSlots, type ServerSlotsOptions } from "./server-slots";

const REDIS_URL_ENV = "RELAYCHECK_TEST_REDIS_URL";
const prefix = `rc-test-slots-${randomBytes(4).toString("hex")}`;
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

let n = 0;
function slots(options: Partial<ServerSlotsOptions> = {}) {
  return createServerSlots(redis, { prefix: `${prefix}:${++n}`, limit: 1, leaseMs: 60_000, minPollMs: 5, maxPollMs: 20, ...options });
}

describe("server slots", () => {
  it("lets one acquirer in at a time per address; the second gets the slot when the first releases it", async () => {
    const s = slots();
    const first = await s.acquire("192.0.2.1");
    expect(first.acquired).toBe(true);
    expect(await s.held("192.0.2.1")).toBe(1);

    let waitingSeen!: () => void;
    const waiting = new Promise<void>((r) => (waitingSeen = r));
    let secondGot = false;
    const second = s.acquire("192.0.2.1", { onWaiting: () => waitingSeen() }).then((lease) => {
      secondGot = true;
      return lease;
    });
    await waiting;
    expect(secondGot).toBe(false);

    // Another address is not held up.
    const other = await s.acquire("192.0.2.2");
    expect(other.acquired).toBe(true);

    expect(await first.release()).toBe(true);
    expect(await first.release()).toBe(true); // idempotent
    const lease = await second;
    expect(lease.acquired).toBe(true);
    expect(await s.held("192.0.2.1")).toBe(1);
    await lease.release();
    await other.release();
    expect(await s.held("192.0.2.1")).toBe(0);
  });

  it("allows `limit` holders at once", async () => {
    const s = slots({ limit: 2 });
    const leases = await Promise.all([s.acquire("192.0.2.3"), s.acquire("192.0.2.3")]);
    expect(leases.every((l) => l.acquired)).toBe(true);
    const controller = new AbortController();
    const third = s.acquire("192.0.2.3", { signal: controller.signal, onWaiting: () => controller.abort() });
    expect((await third).acquired).toBe(false);
    await Promise.all(leases.map((l) => l.release()));
  });

  it("frees the slot of a holder that stops renewing (a dead worker) once its lease expires, and tells that holder", async () => {
    // The dead holder's own connection goes away: its renewals fail, as a killed worker's would.
    const deadConnection = new Redis(process.env[REDIS_URL_ENV]!, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadConnection.on("error", () => {});
    const key = `${prefix}:${++n}`;
    const options = { prefix: key, limit: 1, leaseMs: 300, minPollMs: 5, maxPollMs: 20 };
    let lostCalls = 0;
    const dead = await createServerSlots(deadConnection, options).acquire("192.0.2.4", { onLost: () => lostCalls++ });
    expect(dead.acquired).toBe(true);
    deadConnection.disconnect();
    let waits = 0;
    const next = await createServerSlots(redis, options).acquire("192.0.2.4", { onWaiting: () => waits++ });
    expect(next.acquired).toBe(true);
    expect(waits).toBeGreaterThan(0);
    await vi.waitFor(() => expect(lostCalls).toBe(1));
    await next.release();
    // The key goes with its last lease.
    expect(await redis.exists(`${key}:192.0.2.4`)).toBe(0);
  });

  it("keeps a lease that its holder renews, well past leaseMs", async () => {
    const s = slots({ leaseMs: 150 });
    const holder = await s.acquire("192.0.2.6");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 600);
    const other = await s.acquire("192.0.2.6", { signal: controller.signal });
    clearTimeout(timer);
    expect(other.acquired).toBe(false); // 4 lease periods later the holder still has it
    expect(await holder.release()).toBe(true);
  });

  it("takes its slot again when Redis lost the lease (data wiped) and a slot is free", async () => {
    const s = slots({ leaseMs: 300 });
    let lost = 0;
    const holder = await s.acquire("192.0.2.7", { onLost: () => lost++ });
    await redis.del(`${prefix}:${n}:192.0.2.7`);
    await vi.waitFor(async () => expect(await s.held("192.0.2.7")).toBe(1));
    expect(lost).toBe(0);
    expect(await holder.release()).toBe(true);
  });

  it("reports the lease lost when Redis lost it and another holder took the slot", async () => {
    const s = slots({ leaseMs: 300 });
    let lost = 0;
    const holder = await s.acquire("192.0.2.8", { onLost: () => lost++ });
    // In one step, as a wiped Redis and a quicker worker would leave it: the slot is someone else's.
    const key = `${prefix}:${n}:192.0.2.8`;
    await redis.multi().del(key).zadd(key, Date.now() + 60_000, "other-holder").exec();
    await vi.waitFor(() => expect(lost).toBe(1));
    expect(await holder.release()).toBe(false);
    await redis.del(key);
  });

  it("stops waiting when the signal aborts, holding nothing", async () => {
    const s = slots();
    const holder = await s.acquire("2001:db8::1");
    const controller = new AbortController();
    const waiter = s.acquire("2001:db8::1", { signal: controller.signal, onWaiting: () => controller.abort(new Error("check timeout")) });
    const lease = await waiter;
    expect(lease.acquired).toBe(false);
    expect(await s.held("2001:db8::1")).toBe(1);
    await holder.release();
  });

  it("keeps trying through Redis errors until it gets a slot", async () => {
    const broken = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    broken.on("error", () => {});
    try {
      const s = createServerSlots(broken, { prefix: `${prefix}:broken`, limit: 1, leaseMs: 1000, minPollMs: 1, maxPollMs: 2 });
      const controller = new AbortController();
      const errors: unknown[] = [];
      const lease = await s.acquire("192.0.2.5", {
        signal: controller.signal,
        onError: (e) => {
          errors.push(e);
          if (errors.length >= 3) controller.abort();
        },
      });
      expect(lease.acquired).toBe(false);
      expect(errors).toHaveLength(3);
    } finally {
      broken.disconnect();
    }
  });
});
