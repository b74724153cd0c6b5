/**
 * The target history cache's bounds: a kept list served until its time to live has passed, so a
 * new check of the target shows within that; read again at once when it lacks the report being
 * shown; one read for concurrent views; a failed read not kept; at most `maxTargets` lists.
 */
import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT } from "./list-checks-for-target";
import { TargetHistoryCache } from "./target-history-cache";
import type { CheckHistoryItem } from "./types";

const TTL_MS = 5000;

function item(id: string, minute: number): CheckHistoryItem {
  const createdAt = `2026-12-01T10:${String(minute).padStart(2, "0")}:00.000Z`;
  return { id, status: "done", createdAt, finishedAt: createdAt, verdict: "not-open-relay", url: `/checks/${id}` };
}

/** A database of history lists per target (newest first) and a count of reads. */
function fakeDb(lists: Record<string, CheckHistoryItem[]>) {
  const db = { lists, reads: 0 };
  const load = async (target: string) => {
    db.reads += 1;
    return [...(db.lists[target] ?? [])];
  };
  return { db, load };
}

function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

describe("TargetHistoryCache", () => {
  it("serves a kept list until its time to live has passed: a new check shows within it", async () => {
    const a = item("a", 1);
    const { db, load } = fakeDb({ "mx.example.com": [a] });
    const c = clock();
    const cache = new TargetHistoryCache({ ttlMs: TTL_MS, maxTargets: 10, now: c.now }, load);

    expect(await cache.read("mx.example.com", a)).toEqual([a]);
    const b = item("b", 2);
    db.lists["mx.example.com"] = [b, a];
    c.t += TTL_MS - 1;
    // Still within the bound: the old list, without a database read.
    expect(await cache.read("mx.example.com", a)).toEqual([a]);
    expect(db.reads).toBe(1);
    c.t += 1;
    expect(await cache.read("mx.example.com", a)).toEqual([b, a]);
    expect(db.reads).toBe(2);
  });

  it("reads again at once a list that lacks the report being shown, unless the report is older than a full list", async () => {
    const a = item("a", 1);
    const { db, load } = fakeDb({ "mx.example.com": [a] });
    const cache = new TargetHistoryCache({ ttlMs: TTL_MS, maxTargets: 10, now: clock().now }, load);
    await cache.read("mx.example.com", a);

    // A check that finished after the list was read lists itself.
    const b = item("b", 2);
    db.lists["mx.example.com"] = [b, a];
    expect(await cache.read("mx.example.com", b)).toEqual([b, a]);
    expect(db.reads).toBe(2);
    expect(await cache.read("mx.example.com", a)).toEqual([b, a]);
    expect(db.reads).toBe(2);

    // An old report beyond a full list is not in any list: no read per view for it.
    const full = Array.from({ length: HISTORY_LIMIT }, (_, i) => item(`n${i}`, 59 - i));
    db.lists["big.example.com"] = full;
    const old = item("old", 0);
    expect(await cache.read("big.example.com", old)).toHaveLength(HISTORY_LIMIT);
    expect(await cache.read("big.example.com", old)).toHaveLength(HISTORY_LIMIT);
    expect(db.reads).toBe(3);
  });

  it("reads once for concurrent views, anew when asked (a live report), and keeps no failed read", async () => {
    const a = item("a", 1);
    const { db, load } = fakeDb({ "mx.example.com": [a] });
    let fail = false;
    const cache = new TargetHistoryCache({ ttlMs: TTL_MS, maxTargets: 10, now: clock().now }, (t) => (fail ? Promise.reject(new Error("database down")) : load(t)));

    const lists = await Promise.all(Array.from({ length: 20 }, () => cache.read("mx.example.com", a)));
    expect(lists.every((l) => l.length === 1)).toBe(true);
    expect(db.reads).toBe(1);

    await cache.read("mx.example.com", a, { fresh: true });
    expect(db.reads).toBe(2);

    fail = true;
    await expect(cache.read("mx.example.com", a, { fresh: true })).rejects.toThrow("database down");
    fail = false;
    expect(await cache.read("mx.example.com", a)).toEqual([a]);
    expect(db.reads).toBe(3);
  });

  it("keeps at most maxTargets lists, least recently used out first, and none with a time to live of 0", async () => {
    const lists = Object.fromEntries(["t1", "t2", "t3"].map((t, i) => [t, [item(`${t}-a`, i)]]));
    const { db, load } = fakeDb(lists);
    const cache = new TargetHistoryCache({ ttlMs: TTL_MS, maxTargets: 2, now: clock().now }, load);
    await cache.read("t1", lists.t1![0]!);
    await cache.read("t2", lists.t2![0]!);
    await cache.read("t1", lists.t1![0]!); // t1 now the most recently used
    await cache.read("t3", lists.t3![0]!);
    expect(cache.size).toBe(2);
    expect(db.reads).toBe(3);
    await cache.read("t1", lists.t1![0]!);
    expect(db.reads).toBe(3);
    await cache.read("t2", lists.t2![0]!);
    expect(db.reads).toBe(4);

    const off = new TargetHistoryCache({ ttlMs: 0, maxTargets: 2 }, load);
    await off.read("t1", lists.t1![0]!);
    await off.read("t1", lists.t1![0]!);
    expect(off.size).toBe(0);
    expect(db.reads).toBe(6);
  });
});
