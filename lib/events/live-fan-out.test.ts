/**
 * The live fan-out against the real Redis that `npm test` prepared, under a key prefix of its
 * own. The store of record is an in-memory LiveSource written before Redis, in the same order as
 * lib/checks/record-check-event.ts writes PostgreSQL and then the stream; the service tests
 * (tests/service/live-events.test.ts) run the same module over PostgreSQL.
 *
 * The reader's XREAD BLOCK timeout is set far beyond the tests' timeout: a topic that joins must
 * be picked up by CLIENT UNBLOCK, or the test times out.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { appendToStream } from "./check-stream";
import { createLiveFanOut, type LiveEnd, type LiveEntry, type LiveFanOut, type LiveFanOutOptions, type LiveSource, type LiveSubscription } from "./live-fan-out";

const REDIS_URL_ENV = "RELAYCHECK_TEST_REDIS_URL";
const prefix = `rc-test-fanout-${randomBytes(4).toString("hex")}`;
const TERMINAL = new Set(["done", "failed"]);
let redis: Redis;
const fanOuts: LiveFanOut[] = [];

beforeAll(() => {
  const url = process.env[REDIS_URL_ENV];
  if (!url) throw new Error(`${REDIS_URL_ENV} is not set: run the tests with \`npm test\` (it prepares Redis).`);
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  await Promise.all(fanOuts.splice(0).map((f) => f.close()));
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.unlink(...keys);
  redis.disconnect();
});

/** The store of record: entries per topic, in memory, with counters of the reads it served. */
class MemoryStore implements LiveSource {
  readonly topics = new Map<string, LiveEntry[]>();
  heads = 0;
  reads = 0;
  failReads = false;

  async head(topic: string) {
    this.heads++;
    const entries = this.topics.get(topic);
    if (!entries) return null;
    const last = entries.at(-1);
    return { lastSeq: last?.seq ?? 0, ended: last ? TERMINAL.has(last.type) : false };
  }

  async read(topic: string, afterSeq: number, upToSeq?: number) {
    this.reads++;
    if (this.failReads) throw new Error("store unavailable");
    return (this.topics.get(topic) ?? []).filter((e) => e.seq > afterSeq && (upToSeq === undefined || e.seq <= upToSeq));
  }
}

let topicCount = 0;

function setup(overrides: Partial<LiveFanOutOptions> = {}) {
  const store = new MemoryStore();
  const readerName = `${prefix}-reader-${++topicCount}`;
  const fanOut = createLiveFanOut({
    redis,
    readerName,
    keyOf: (topic) => `${prefix}:${topic}`,
    source: store,
    isTerminal: (e) => TERMINAL.has(e.type),
    statusPollMs: 60_000,
    idleMs: 60_000,
    blockMs: 600_000,
    tickMs: 10,
    ...overrides,
  });
  fanOuts.push(fanOut);

  const topic = (name = `t${++topicCount}`) => {
    store.topics.set(name, []);
    let seq = 0;
    return {
      name,
      /** Appends events: store first, then (unless `redis: false`) the stream. */
      async write(types: string[], where: { redis?: boolean } = {}): Promise<LiveEntry[]> {
        const entries = types.map((type) => {
          seq++;
          return { seq, type, data: JSON.stringify({ type, n: seq }) };
        });
        store.topics.get(name)!.push(...entries);
        if (where.redis !== false) {
          await appendToStream(redis, `${prefix}:${name}`, entries.map((e) => ({ seq: e.seq, data: e.data })), { maxLen: 10_000, ttlSeconds: 600 });
        }
        return entries;
      },
    };
  };

  const readers = async () => String(await redis.call("CLIENT", "LIST")).split("\n").filter((l) => l.includes(`name=${readerName} `)).length;
  return { store, fanOut, topic, readers };
}

/** Takes until the subscription ends; returns what it got. */
async function drain(sub: LiveSubscription): Promise<{ seqs: number[]; types: string[]; end: LiveEnd }> {
  const seqs: number[] = [];
  const types: string[] = [];
  for (;;) {
    const batch = await sub.take();
    for (const e of batch.entries) {
      seqs.push(e.seq);
      types.push(e.type);
    }
    if (batch.end) {
      sub.close();
      return { seqs, types, end: batch.end };
    }
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const tick = () => new Promise((r) => setImmediate(r));

describe("live fan-out", () => {
  it("gives 200 subscribers of one topic every entry once, in order, over one Redis connection", async () => {
    const { fanOut, topic, readers } = setup();
    const t = topic();
    await t.write(["status"]);
    const early = await Promise.all(range(1, 150).map(() => fanOut.subscribe(t.name, { afterSeq: 0 })));
    const results = early.map((s) => drain(s!));
    for (let i = 0; i < 40; i++) {
      await t.write(["reply", "case-result"]);
      await tick();
    }
    // Late joiners: some from the start, some resuming after an event they had.
    const late = await Promise.all(range(1, 50).map((i) => fanOut.subscribe(t.name, { afterSeq: i % 2 ? 0 : 30 })));
    results.push(...late.map((s) => drain(s!)));
    expect(fanOut.stats()).toMatchObject({ topics: 1, liveTopics: 1, subscribers: 200, readers: 1 });
    expect(await readers()).toBe(1);
    for (let i = 0; i < 20; i++) await t.write(["reply"]);
    await t.write(["done"]);

    const got = await Promise.all(results);
    for (const [i, r] of got.entries()) {
      const from = i >= 150 && (i - 150 + 1) % 2 === 0 ? 31 : 1;
      expect(r.end).toBe("terminal");
      expect(r.seqs).toEqual(range(from, 102));
      expect(r.types.at(-1)).toBe("done");
    }
    expect(fanOut.stats()).toMatchObject({ topics: 0, subscribers: 0 });
    expect(await readers()).toBe(1);
  });

  it("reads the catch-up of a crowd that joins together once, not once per subscriber", async () => {
    const { fanOut, store, topic } = setup();
    const t = topic();
    await t.write(["status", "resolved", "reply"]);
    const before = store.reads;
    const subs = await Promise.all(range(1, 100).map(() => fanOut.subscribe(t.name, { afterSeq: 0 })));
    // At most one read in flight per topic: the first joiner's, then one for everyone who came during it.
    expect(store.reads - before).toBeLessThanOrEqual(2);
    expect(store.heads).toBe(1);
    await t.write(["done"]);
    for (const r of await Promise.all(subs.map((s) => drain(s!)))) expect(r.seqs).toEqual([1, 2, 3, 4]);
  });

  it("fills a gap (an entry that never reached Redis) from the store, in order", async () => {
    const { fanOut, topic } = setup();
    const t = topic();
    await t.write(["status"]);
    const sub = (await fanOut.subscribe(t.name, { afterSeq: 0 }))!;
    const result = drain(sub);
    await t.write(["reply", "reply"]);
    await t.write(["case-result"], { redis: false });
    await t.write(["reply", "done"]);
    expect(await result).toEqual({ seqs: [1, 2, 3, 4, 5, 6], types: ["status", "reply", "reply", "case-result", "reply", "done"], end: "terminal" });
  });

  it("ends the subscribers of a topic whose terminal entry reached only the store, with one head read per poll", async () => {
    const { fanOut, store, topic } = setup({ statusPollMs: 50 });
    const t = topic();
    await t.write(["status", "reply"]);
    const subs = await Promise.all(range(1, 100).map(() => fanOut.subscribe(t.name, { afterSeq: 0 })));
    const results = subs.map((s) => drain(s!));
    await t.write(["reply"]);
    await t.write(["failed"], { redis: false });
    for (const r of await Promise.all(results)) expect(r).toEqual({ seqs: [1, 2, 3, 4], types: ["status", "reply", "reply", "failed"], end: "terminal" });
    // One read of the head when the topic started, then one per poll: never one per subscriber.
    expect(store.heads).toBeLessThan(subs.length);
  });

  it("delivers entries that reached the store but not Redis after a whole poll period, while the topic runs", async () => {
    const { fanOut, topic } = setup({ statusPollMs: 50 });
    const t = topic();
    await t.write(["status"]);
    const sub = (await fanOut.subscribe(t.name, { afterSeq: 0 }))!;
    await t.write(["reply", "reply"], { redis: false });
    const first = await sub.take();
    const got = [...first.entries.map((e) => e.seq)];
    while (got.at(-1) !== 3) got.push(...(await sub.take()).entries.map((e) => e.seq));
    expect(got).toEqual([1, 2, 3]);
    sub.close();
  });

  it("ends a subscriber that falls too far behind, and only that one", async () => {
    const { fanOut, topic } = setup({ queueLimit: 10 });
    const t = topic();
    await t.write(["status"]);
    const slow = (await fanOut.subscribe(t.name, { afterSeq: 0 }))!;
    const fast = (await fanOut.subscribe(t.name, { afterSeq: 0 }))!;
    const fastResult = drain(fast);
    for (let i = 0; i < 30; i++) {
      await t.write(["reply"]);
      await tick();
    }
    await t.write(["done"]);
    expect((await fastResult).seqs).toEqual(range(1, 32));
    // The slow one gets what it had before it overflowed, then the end; never a gap.
    const slowResult = await drain(slow);
    expect(slowResult.end).toBe("overflow");
    expect(slowResult.seqs).toEqual(range(1, slowResult.seqs.length));
  });

  it("catches up a joiner from the store while entries keep coming, without duplicates or gaps", async () => {
    const { fanOut, topic } = setup();
    const t = topic();
    const results: Promise<{ seqs: number[]; after: number }>[] = [];
    for (let i = 1; i <= 300; i++) {
      await t.write(["reply"]);
      if (i % 15 === 0) {
        const after = i % 2 ? 0 : i - 7;
        results.push(fanOut.subscribe(t.name, { afterSeq: after }).then(async (s) => ({ seqs: (await drain(s!)).seqs, after })));
      }
      if (i % 3 === 0) await tick();
    }
    await t.write(["done"]);
    for (const r of await Promise.all(results)) expect(r.seqs).toEqual(range(r.after + 1, 301));
  });

  it("answers null for an unknown topic; for an ended one, the rest, or `complete` when there is none", async () => {
    const { fanOut, topic } = setup();
    expect(await fanOut.subscribe("nobody", { afterSeq: 0 })).toBeNull();
    const t = topic();
    await t.write(["status", "reply", "done"]);
    const behind = (await fanOut.subscribe(t.name, { afterSeq: 1 }))!;
    expect(behind.complete).toBe(false);
    expect(await drain(behind)).toEqual({ seqs: [2, 3], types: ["reply", "done"], end: "terminal" });
    const upToDate = (await fanOut.subscribe(t.name, { afterSeq: 3 }))!;
    expect(upToDate.complete).toBe(true);
    upToDate.close();
    expect(fanOut.stats()).toMatchObject({ topics: 0, subscribers: 0 });
  });

  it("sends an empty batch (a keep-alive) when idle, and ends at the deadline", async () => {
    const { fanOut, topic } = setup({ idleMs: 20 });
    const t = topic();
    await t.write(["status"]);
    const sub = (await fanOut.subscribe(t.name, { afterSeq: 0, deadline: Date.now() + 300 }))!;
    expect(await sub.take()).toEqual({ entries: [expect.objectContaining({ seq: 1 })], end: null });
    expect(await sub.take()).toEqual({ entries: [], end: null });
    let last;
    do last = await sub.take();
    while (!last.end);
    expect(last.end).toBe("lifetime");
    sub.close();
  });

  it("fails a subscription whose catch-up read fails, and stops reading a topic nobody watches", async () => {
    const { fanOut, store, topic } = setup();
    const t = topic();
    await t.write(["status"]);
    store.failReads = true;
    await expect(fanOut.subscribe(t.name, { afterSeq: 0 })).rejects.toThrow("store unavailable");
    expect(fanOut.stats()).toMatchObject({ topics: 0, subscribers: 0 });
    store.failReads = false;
    const sub = (await fanOut.subscribe(t.name, { afterSeq: 0 }))!;
    expect(fanOut.stats()).toMatchObject({ topics: 1, liveTopics: 1, subscribers: 1 });
    sub.close();
    expect(fanOut.stats()).toMatchObject({ topics: 0, liveTopics: 0, subscribers: 0 });
  });
});
