/**
 * The live view across the server's planned end of a stream (SSE_MAX_LIFETIME_SECONDS, here 2 s):
 * Chromium's EventSource reconnects with Last-Event-ID, the page keeps filling in, lands on the
 * finished report, and never tells the user the connection was interrupted.
 * The check is held at a gated proxy until the browser has reconnected at least once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startService, type RunningService } from "@/tests/support/service";
import { startGatedProxy, type GatedProxy } from "@/tests/support/gated-proxy";
import { requireOrSkip } from "@/tests/support/require";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";
import { startFakeSmtp, type BrowserFake } from "./support/fake-smtp";

const FAKE = "127.0.0.187";
const PROXY = "127.0.0.188";

const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };

describe.sequential("the live view across a reconnect", () => {
  let service: RunningService | null = null;
  let browser: Browser | null = null;
  let fake: BrowserFake | null = null;
  let proxy: GatedProxy | null = null;

  beforeAll(async () => {
    if (!chromium.ok) return;
    fake = await startFakeSmtp({ host: FAKE, behaviour: "open", replyDelayMs: 50 });
    proxy = await startGatedProxy({ host: PROXY, port: 25, upstream: { host: FAKE, port: 25 } });
    service = await startService({ env: { SSE_MAX_LIFETIME_SECONDS: "2", PROBE_GREETING_TIMEOUT_MS: "60000" } });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await service?.stop();
    await fake?.close();
  });

  it("resumes with Last-Event-ID after the server ends the stream, and finishes the report", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const created = await fetch(`${service!.baseUrl}/api/v1/checks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: PROXY }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };

    const bctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await bctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const streams: (string | undefined)[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith(`/api/v1/checks/${id}/events`)) void r.allHeaders().then((h) => streams.push(h["last-event-id"]));
    });
    // Remembers whether the "connection interrupted" notice ever showed.
    await page.addInitScript(() => {
      new MutationObserver(() => {
        if (document.body?.textContent?.includes("Live connection interrupted")) (window as unknown as { __interrupted?: boolean }).__interrupted = true;
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });

    await page.goto(`${service!.baseUrl}/checks/${id}`);
    await proxy!.accepted(1);
    await page.waitForSelector('[data-live-status="running"]', { timeout: 30_000 });
    // The server ends the first stream at its lifetime; the browser comes back with Last-Event-ID.
    await expect.poll(() => streams.length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect(streams[0]).toBeUndefined();
    expect(Number(streams[1])).toBeGreaterThanOrEqual(2);

    proxy!.open();
    await expect.poll(async () => (await page.locator("#verdict-heading").textContent()) ?? "", { timeout: 60_000, interval: 200 }).toMatch(/is an open relay/);
    expect(await page.locator('tr[data-outcome="accepted"]').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __interrupted?: boolean }).__interrupted ?? false)).toBe(false);
    expect(errors).toEqual([]);
    await bctx.close();
  }, 120_000);
});
