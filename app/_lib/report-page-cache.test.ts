/**
 * The report page cache's rules and bounds, on a loopback HTTP server that stands in for Next (it
 * renders a page with its nonce in the policy and in the HTML): a finished report's page kept and
 * sent again with a fresh nonce in the HTML and the policy; read from Next again once its time to
 * live has passed (one request at a time, the others served the old page meanwhile); never kept when not a finished report's, not a 200, or not a document
 * request; at most `maxPages`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isDocumentRequest, REPORT_PAGE_PATH, ReportPageCache } from "./report-page-cache";

const DOCUMENT = { accept: "text/html,application/xhtml+xml" };

interface Stand {
  url: string;
  renders: number;
  /** Awaited before each render (holds Next's answer). */
  hold?: Promise<void>;
  /** What the stand-in for Next answers: a finished report's page unless told otherwise. */
  page: { status: number; finished: boolean };
  close(): Promise<void>;
}

let stands: Stand[] = [];
afterEach(async () => {
  await Promise.all(stands.map((s) => s.close()));
  stands = [];
});

async function standIn(cache: ReportPageCache): Promise<Stand> {
  const stand = { renders: 0, page: { status: 200, finished: true } } as Stand;
  const server = http.createServer(async (req, res) => {
    const id = REPORT_PAGE_PATH.exec(req.url ?? "")?.[1];
    if (id && isDocumentRequest(req)) {
      if (cache.serve(req, res, id)) return;
      cache.capture(req, res, id);
    }
    stand.renders += 1;
    await stand.hold;
    const nonce = Buffer.from(`nonce-${stand.renders}-padding`).toString("base64");
    res.statusCode = stand.page.status;
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.setHeader("x-frame-options", "DENY");
    res.setHeader("content-security-policy", `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`);
    res.write(`<!DOCTYPE html><script nonce="${nonce}">1</script>`);
    res.end(`<main>${stand.page.finished ? `{"name":"report:${id}"}` : "checking…"}</main><script nonce="${nonce}">2</script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stand.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stand.close = () => new Promise((resolve) => server.close(() => resolve()));
  stands.push(stand);
  return stand;
}

async function get(stand: Stand, path: string, headers: Record<string, string> = DOCUMENT) {
  const res = await fetch(`${stand.url}${path}`, { headers });
  const html = await res.text();
  const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
  return { status: res.status, html, nonce, frame: res.headers.get("x-frame-options") };
}

describe("ReportPageCache", () => {
  it("sends a kept page again with a fresh nonce in the HTML and the policy, until its time to live has passed", async () => {
    const clock = { t: 1000 };
    const stand = await standIn(new ReportPageCache({ ttlMs: 5000, now: () => clock.t }));
    const first = await get(stand, "/checks/abc");
    const again = await get(stand, "/checks/abc");
    expect(stand.renders).toBe(1);
    expect(again.nonce).not.toBe(first.nonce);
    expect(again.html).toBe(first.html.split(first.nonce!).join(again.nonce!));
    expect(again.html.split(`nonce="${again.nonce}"`)).toHaveLength(3);
    expect(again.frame).toBe("DENY");

    clock.t += 4999;
    await get(stand, "/checks/abc");
    expect(stand.renders).toBe(1);
    clock.t += 1;
    await get(stand, "/checks/abc");
    expect(stand.renders).toBe(2);
  });

  it("sends an expired page while one request has it rendered anew, for at most a second", async () => {
    const clock = { t: 1000 };
    const stand = await standIn(new ReportPageCache({ ttlMs: 5000, now: () => clock.t }));
    const first = await get(stand, "/checks/abc");
    clock.t += 5000;
    let release = () => {};
    stand.hold = new Promise((r) => (release = r));
    const renewing = get(stand, "/checks/abc");
    await vi.waitFor(() => expect(stand.renders).toBe(2));
    // Meanwhile: the old page (its nonce fresh), not one more render.
    const meanwhile = await get(stand, "/checks/abc");
    expect(stand.renders).toBe(2);
    expect(meanwhile.html).toBe(first.html.split(first.nonce!).join(meanwhile.nonce!));
    // A render that takes longer than the grace: the next request goes to Next too.
    clock.t += 1000;
    const another = get(stand, "/checks/abc");
    await vi.waitFor(() => expect(stand.renders).toBe(3));
    release();
    await Promise.all([renewing, another]);
    stand.hold = undefined;
    await get(stand, "/checks/abc");
    expect(stand.renders).toBe(3);
  });

  it("keeps no page that is not a finished report's 200, nor any that is not asked for as a document", async () => {
    const cache = new ReportPageCache({ ttlMs: 5000 });
    const stand = await standIn(cache);
    stand.page = { status: 200, finished: false };
    await get(stand, "/checks/live");
    await get(stand, "/checks/live");
    expect(stand.renders).toBe(2);
    stand.page = { status: 404, finished: true };
    await get(stand, "/checks/gone");
    await get(stand, "/checks/gone");
    expect(stand.renders).toBe(4);
    stand.page = { status: 200, finished: true };
    for (const headers of [{ accept: "*/*" }, { ...DOCUMENT, rsc: "1" }, { ...DOCUMENT, "next-router-prefetch": "1" }]) await get(stand, "/checks/abc", headers);
    await get(stand, "/checks/abc?x=1");
    expect(stand.renders).toBe(8);
    expect(cache.size).toBe(0);
  });

  it("keeps at most maxPages pages, and none with a time to live of 0", async () => {
    const cache = new ReportPageCache({ ttlMs: 5000, maxPages: 2 });
    const stand = await standIn(cache);
    for (const id of ["a", "b", "c"]) await get(stand, `/checks/${id}`);
    expect(cache.size).toBe(2);
    await get(stand, "/checks/c");
    expect(stand.renders).toBe(3);
    await get(stand, "/checks/a");
    expect(stand.renders).toBe(4);

    const off = await standIn(new ReportPageCache({ ttlMs: 0 }));
    await get(off, "/checks/a");
    await get(off, "/checks/a");
    expect(off.renders).toBe(2);
  });
});
