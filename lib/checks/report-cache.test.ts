/**
 * The report cache's bounds: only finished reports, least recently used out first once the
 * estimated bytes pass the budget (renderings counted), an entry over the whole budget not kept,
 * entries read again after their time to live; and readCheck's choice between cache and loader.
 */
import { describe, expect, it } from "vitest";
import { scenario } from "@/lib/advice/test-fixtures";
import { entryBytes, finishedReportOf, readCheck, ReportCache } from "./report-cache";
import type { CheckStatus, CheckView } from "./types";

function viewOf(id: string, status: CheckStatus = "done", transcriptLines = 10): CheckView {
  const server = scenario("postfix");
  const transcript = Array.from({ length: transcriptLines }, (_, i) => server.transcript[i % server.transcript.length]!);
  return {
    id,
    status,
    waiting: null,
    createdAt: "2026-12-01T10:00:00.000Z",
    startedAt: "2026-12-01T10:00:01.000Z",
    finishedAt: status === "done" || status === "failed" ? "2026-12-01T10:00:02.000Z" : null,
    queuePosition: null,
    error: null,
    url: `/checks/${id}`,
    links: { self: `/api/v1/checks/${id}`, events: `/api/v1/checks/${id}/events`, html: `/checks/${id}`, history: "/api/v1/checks?target=mail.example.com" },
    schemaVersion: 1,
    target: { input: "mail.example.com", name: "mail.example.com", kind: "domain" },
    options: null,
    verdict: status === "done" ? "not-open-relay" : null,
    reason: status === "done" ? "refused" : null,
    durationMs: status === "done" ? 1000 : null,
    resolution: null,
    servers: status === "done" ? [{ ...server, transcript }] : [],
  };
}

describe("ReportCache", () => {
  it("keeps finished reports and refuses a check that is not finished", () => {
    const cache = new ReportCache({ maxBytes: 10_000_000, ttlMs: 60_000 });
    const done = finishedReportOf(viewOf("a"));
    cache.set("a", done);
    expect(cache.get("a")).toBe(done);
    for (const status of ["queued", "running", "waiting"] as const) {
      expect(() => cache.set("b", finishedReportOf(viewOf("b", status as CheckStatus)))).toThrow(/only finished reports/);
    }
    expect(cache.get("b")).toBeUndefined();
  });

  it("evicts least recently used first once the bytes pass the budget, and counts renderings", () => {
    const reports = ["a", "b", "c", "d"].map((id) => finishedReportOf(viewOf(id)));
    const one = entryBytes(reports[0]!);
    const cache = new ReportCache({ maxBytes: Math.floor(one * 3.5), ttlMs: 60_000 });
    for (const r of reports.slice(0, 3)) cache.set(r.view.id, r);
    expect(cache.size).toBe(3);
    cache.get("a"); // a is now the most recently used: b goes first
    cache.set("d", reports[3]!);
    expect(cache.size).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(Math.floor(one * 3.5));

    // A rendering makes an entry bigger: the least recently used others make room.
    const c = cache.get("c")!;
    const rendering = "x".repeat(Math.floor(one / 2)); // about `one` bytes more
    cache.addRendering("c", c, "page", rendering);
    expect(cache.get("c")?.renderings.get("page")).toBe(rendering);
    expect(cache.bytes).toBeLessThanOrEqual(Math.floor(one * 3.5));
    expect(cache.size).toBe(2);
    expect(cache.get("d")).toBeUndefined();
  });

  it("does not keep an entry larger than the whole budget", () => {
    const big = finishedReportOf(viewOf("big", "done", 2000));
    const cache = new ReportCache({ maxBytes: entryBytes(big) - 1, ttlMs: 60_000 });
    cache.set("big", big);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it("reads an entry again after its time to live, and keeps none with a time to live of 0", () => {
    let now = 1_000;
    const cache = new ReportCache({ maxBytes: 10_000_000, ttlMs: 500, now: () => now });
    cache.set("a", finishedReportOf(viewOf("a")));
    now += 499;
    expect(cache.get("a")).toBeDefined();
    now += 1;
    expect(cache.get("a")).toBeUndefined();
    expect(cache.bytes).toBe(0);

    const off = new ReportCache({ maxBytes: 10_000_000, ttlMs: 0 });
    off.set("a", finishedReportOf(viewOf("a")));
    expect(off.size).toBe(0);
  });
});

describe("readCheck", () => {
  it("loads a running check every time and a finished one once, with a strong ETag of its body", async () => {
    const cache = new ReportCache({ maxBytes: 10_000_000, ttlMs: 60_000 });
    let status: CheckStatus = "running";
    let loads = 0;
    const load = async (id: string) => (loads++, viewOf(id, status));
    expect((await readCheck("x", { cache, load }))?.live?.status).toBe("running");
    expect((await readCheck("x", { cache, load }))?.live?.status).toBe("running");
    expect(loads).toBe(2);
    expect(cache.size).toBe(0);

    status = "done";
    const first = await readCheck("x", { cache, load });
    const again = await readCheck("x", { cache, load });
    expect(loads).toBe(3);
    expect(again?.finished).toBe(first?.finished);
    const report = first!.finished!;
    expect(JSON.parse(report.body)).toMatchObject({ id: "x", status: "done", summary: expect.any(String) });
    expect(report.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(finishedReportOf(viewOf("x")).etag).toBe(report.etag);
    expect(finishedReportOf(viewOf("y")).etag).not.toBe(report.etag);
  });

  it("answers null for a check that does not exist", async () => {
    const cache = new ReportCache({ maxBytes: 10_000_000, ttlMs: 60_000 });
    expect(await readCheck("nope", { cache, load: async () => null })).toBeNull();
  });
});
