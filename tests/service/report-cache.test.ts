/**
 * Finished reports from the web process's cache (lib/checks/report-cache.ts), end to end on the
 * real web server, worker, PostgreSQL and Redis, against a closed fake SMTP server on
 * 127.0.0.120 (held at its greeting by a gated proxy on 127.0.0.121 where a test needs a check
 * that stays running):
 * - a finished report has a strong ETag, private immutable caching and X-Robots-Tag, and
 *   If-None-Match answers 304 (still counted against the client's request limit);
 * - a running check is never cached: each GET reads it anew (no-store, no ETag), and the first
 *   GET after it finished returns the final report;
 * - a deleted check stops being served once REPORT_CACHE_TTL_SECONDS (1 s here) has passed;
 * - the report page of a one-server check is at most 80,000 bytes and carries the report once;
 *   kept whole by the web server, it is sent again with a fresh nonce in each response, and a
 *   new check of the target shows in its history within twice HISTORY_CACHE_TTL_SECONDS (1 s
 *   here);
 * - the JSON from the web server's node-level handler (app/api/_lib/serve-check-node.ts) is the
 *   Next route's, status, headers and body (a second web server on the same database, with
 *   RELAYCHECK_REPORT_VIA_NEXT=1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startGatedProxy, type GatedProxy } from "@/tests/support/gated-proxy";
import { startClosed } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { readEvents } from "./read-events";

const FAKE = "127.0.0.120";
const GATED = "127.0.0.121";
// "80 KB" read as 80,000 bytes.
const PAGE_LIMIT_BYTES = 80_000;
const GONE_TIMEOUT_MS = 15_000;

let service: RunningService;
let dns: LocalDnsServer;
let fake: FakeServer;
let proxy: GatedProxy;
let clients = 0;

function newClient(): Record<string, string> {
  clients += 1;
  return { "x-forwarded-for": `198.51.100.${clients}` };
}

async function createCheck(target: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${service.baseUrl}/api/v1/checks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ target }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function finishedCheck(headers = newClient()): Promise<string> {
  const id = await createCheck(FAKE, headers);
  const { events } = await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, { headers });
  expect(events.at(-1)?.type).toBe("done");
  return id;
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${service.baseUrl}${path}`, { headers });
/** What a browser's document request says it accepts (the page then sends the report in its HTML only). */
const DOCUMENT = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

beforeAll(async () => {
  dns = await startDnsServer({});
  fake = await startClosed({ host: FAKE, port: 25 });
  proxy = await startGatedProxy({ host: GATED, port: 25, upstream: { host: FAKE, port: 25 } });
  service = await startService({
    dnsServers: [dns.address],
    env: { REPORT_CACHE_TTL_SECONDS: "1", HISTORY_CACHE_TTL_SECONDS: "1", CHECK_REUSE_WINDOW_SECONDS: "0" },
  });
});

afterAll(async () => {
  await service?.stop();
  await proxy?.close();
  await fake?.close();
  await dns?.close();
});

describe("a finished report", () => {
  it("has a strong ETag and private immutable caching, and If-None-Match answers 304", async () => {
    const headers = newClient();
    const id = await finishedCheck(headers);
    const first = await get(`/api/v1/checks/${id}`, headers);
    expect(first.status).toBe(200);
    const body = await first.text();
    expect(JSON.parse(body)).toMatchObject({ id, status: "done", verdict: "not-open-relay", summary: expect.any(String) });
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get("cache-control")).toBe("private, max-age=300, immutable");
    expect(first.headers.get("x-robots-tag")).toBe("noindex, nofollow");
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);

    // The same body and ETag again (from the cache, or read again after its time to live).
    const again = await get(`/api/v1/checks/${id}`, headers);
    expect(await again.text()).toBe(body);
    expect(again.headers.get("etag")).toBe(etag);

    const remainingBefore = Number(again.headers.get("ratelimit-remaining"));
    const notModified = await get(`/api/v1/checks/${id}`, { ...headers, "if-none-match": `"other", ${etag}` });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe("");
    expect(notModified.headers.get("etag")).toBe(etag);
    expect(notModified.headers.get("cache-control")).toBe("private, max-age=300, immutable");
    // A 304 still costs the client one request of its limit.
    expect(Number(notModified.headers.get("ratelimit-remaining"))).toBe(remainingBefore - 1);

    const changed = await get(`/api/v1/checks/${id}`, { ...headers, "if-none-match": '"something-else"' });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(body);

    const transcript = await get(`/checks/${id}/transcript`, headers);
    expect(transcript.status).toBe(200);
    expect(transcript.headers.get("cache-control")).toBe("private, max-age=300, immutable");
    expect(await transcript.text()).toContain("220 ");
  });

  it("stops being served once the cache's time to live has passed after it was deleted", async () => {
    const headers = newClient();
    const id = await finishedCheck(headers);
    expect((await get(`/api/v1/checks/${id}`, headers)).status).toBe(200);
    expect((await get(`/checks/${id}`, headers)).status).toBe(200);

    const db = new pg.Client({ connectionString: service.env.DATABASE_URL });
    await db.connect();
    try {
      expect((await db.query("DELETE FROM checks WHERE id = $1", [id])).rowCount).toBe(1);
    } finally {
      await db.end();
    }

    // REPORT_CACHE_TTL_SECONDS=1: gone from the API and the page within that (polled, bounded).
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    let api = 0;
    let page = 0;
    while (Date.now() < deadline) {
      [api, page] = await Promise.all([get(`/api/v1/checks/${id}`, headers).then((r) => r.status), get(`/checks/${id}`, headers).then((r) => r.status)]);
      if (api === 404 && page === 404) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([api, page]).toEqual([404, 404]);
  });
});

describe("a running check", () => {
  it("is never served from the cache: read anew until it finishes, then the final report", async () => {
    const headers = newClient();
    const id = await createCheck(GATED, headers);
    await proxy.accepted(1); // the worker is connected and waits for the greeting: running

    for (let i = 0; i < 3; i++) {
      const res = await get(`/api/v1/checks/${id}`, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("etag")).toBeNull();
      const view = (await res.json()) as { status: string; servers: unknown[] };
      expect(view.status).toBe("running");
      expect(view.servers).toEqual([]);
      // A conditional request for a running check is never a 304.
      expect((await get(`/api/v1/checks/${id}`, { ...headers, "if-none-match": "*" })).status).toBe(200);
    }
    const livePage = await get(`/checks/${id}`, headers);
    expect(livePage.status).toBe(200);
    expect(await livePage.text()).not.toContain("is not an open relay");
    // Nor is its page kept whole (app/_lib/report-page-cache.ts): a document request, twice,
    // left to Next as it came (compressed as the client accepts).
    for (let i = 0; i < 2; i++) {
      const page = await get(`/checks/${id}`, { ...headers, ...DOCUMENT, "accept-encoding": "gzip" });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-encoding")).toBe("gzip");
      expect(await page.text()).not.toContain("is not an open relay");
    }

    proxy.open();
    const { events } = await readEvents(`${service.baseUrl}/api/v1/checks/${id}/events`, { headers });
    expect(events.at(-1)?.type).toBe("done");

    const res = await get(`/api/v1/checks/${id}`, headers);
    expect(res.headers.get("etag")).toMatch(/^"/);
    const view = (await res.json()) as { status: string; verdict: string; servers: { host: string; cases: unknown[] }[] };
    expect(view).toMatchObject({ status: "done", verdict: "not-open-relay" });
    expect(view.servers).toHaveLength(1);
    expect(view.servers[0]!.cases.length).toBeGreaterThan(10);
    const page = await (await get(`/checks/${id}`, { ...headers, ...DOCUMENT })).text();
    expect(page).toContain("is not an open relay");
    // A client-side refresh (what the live view does on `done`) gets the report in its payload.
    const refresh = await fetch(`${service.baseUrl}/checks/${id}`, { headers: { ...headers, rsc: "1" } });
    expect(refresh.headers.get("content-type")).toMatch(/^text\/x-component/);
    expect(await refresh.text()).toContain("is not an open relay");
  });
});

describe("the report page", () => {
  it("is at most 80,000 bytes for a one-server check and carries the report once", async () => {
    const headers = newClient();
    const id = await finishedCheck(headers);
    for (let i = 0; i < 2; i++) {
      // The first request renders the report, the second takes it from the cache: both the same.
      const res = await get(`/checks/${id}`, { ...headers, ...DOCUMENT });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(Buffer.byteLength(html)).toBeLessThanOrEqual(PAGE_LIMIT_BYTES);
      const occurrences = (needle: string) => html.split(needle).length - 1;
      // Parts of the report in the page once, not a second time in the React payload.
      expect(occurrences('id="srv-127-0-0-120-25-transcript"')).toBe(1);
      expect(occurrences('id="srv-127-0-0-120-25-case-third-party"')).toBe(1);
      expect(occurrences(">Plain relay: outside sender to an outside recipient</span>")).toBe(1);
      expect(occurrences("srv-127-0-0-120-25-case-third-party")).toBe(occurrences("#srv-127-0-0-120-25-case-third-party") + 1);
    }
  });
});

describe("the report page kept whole", () => {
  const nonceOf = (csp: string | null) => /'nonce-([^']+)'/.exec(csp ?? "")?.[1];

  it("is Next's page again, with a fresh nonce in the HTML and the policy of each response", async () => {
    const headers = newClient();
    const id = await finishedCheck(headers);
    // The first view is Next's alone: it renders the report's static part and the report enters
    // the report cache; only then does the web server ask Next for a page to keep. (Next sends
    // a CSS preload Link header with that first render, not with its later ones.)
    expect((await get(`/checks/${id}`, { ...headers, ...DOCUMENT })).status).toBe(200);
    const pages = [];
    for (let i = 0; i < 3; i++) {
      const res = await get(`/checks/${id}`, { ...headers, ...DOCUMENT });
      expect(res.status).toBe(200);
      const nonce = nonceOf(res.headers.get("content-security-policy"));
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      const html = await res.text();
      // Every nonce in the page is this response's own.
      expect(html.split(nonce!).length - 1).toBeGreaterThanOrEqual(5);
      expect(html.match(/nonce="[^"]*"/g)?.every((n) => n === `nonce="${nonce}"`)).toBe(true);
      const kept = [...res.headers].filter(([k]) => !["date", "content-security-policy", "content-length", "transfer-encoding", "content-encoding", "vary"].includes(k));
      pages.push({ nonce, html: html.split(nonce!).join("NONCE"), headers: Object.fromEntries(kept) });
    }
    expect(new Set(pages.map((p) => p.nonce)).size).toBe(3);
    expect(pages[1]).toEqual({ ...pages[0], nonce: pages[1]!.nonce });
    expect(pages[2]).toEqual({ ...pages[0], nonce: pages[2]!.nonce });
    expect(pages[0]!.headers["content-type"]).toMatch(/^text\/html/);
    expect(pages[0]!.headers["x-frame-options"]).toBe("DENY");
  });

  it("shows a new check of the target in its history within twice the history's time to live", async () => {
    const headers = newClient();
    const first = await finishedCheck(headers);
    const page = () => get(`/checks/${first}`, { ...headers, ...DOCUMENT }).then((r) => r.text());
    expect(await page()).toContain("(this report)");
    const second = await finishedCheck(headers);
    const started = Date.now();
    let html = await page();
    while (!html.includes(`/checks/${second}`) && Date.now() - started < GONE_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, 100));
      html = await page();
    }
    expect(html).toContain(`href="/checks/${second}"`);
    // HISTORY_CACHE_TTL_SECONDS=1: at most 2 s (and the time a poll takes; one viewer at a time
    // here, so the page cache's grace for concurrent viewers does not apply).
    expect(Date.now() - started).toBeLessThan(2000 + 500);
  });
});

describe("GET /api/v1/checks/<id> without Next", () => {
  it("answers as the Next route does: 200, 304 and 404, same headers and body", async () => {
    const headers = newClient();
    const id = await finishedCheck(headers);
    const viaNext = await startService({ worker: false, databaseUrl: service.env.DATABASE_URL, env: { RELAYCHECK_REPORT_VIA_NEXT: "1" } });
    try {
      const etag = (await get(`/api/v1/checks/${id}`, headers)).headers.get("etag")!;
      // Headers that differ between two servers or two requests by nature.
      const varying = new Set(["date", "connection", "keep-alive", "ratelimit-remaining", "ratelimit-reset", "ratelimit", "transfer-encoding", "content-length", "vary"]);
      const answer = async (base: string, path: string, extra: Record<string, string> = {}) => {
        const res = await fetch(`${base}${path}`, { headers: { ...headers, ...extra } });
        const kept = [...res.headers].filter(([k]) => !varying.has(k)).sort(([a], [b]) => a.localeCompare(b));
        return { status: res.status, headers: Object.fromEntries(kept), body: await res.text() };
      };
      for (const [path, extra] of [
        [`/api/v1/checks/${id}`, {}],
        [`/api/v1/checks/${id}`, { "if-none-match": etag }],
        [`/api/v1/checks/${id}?format=json`, {}],
        ["/api/v1/checks/AAAAAAAAAAAAAAAAAAAAAA", {}],
        ["/api/v1/checks/not%20an%20id", {}],
      ] as [string, Record<string, string>][]) {
        const [node, next] = await Promise.all([answer(service.baseUrl, path, extra), answer(viaNext.baseUrl, path, extra)]);
        expect(node, path).toEqual(next);
      }
    } finally {
      await viaNext.stop();
    }
  });
});
