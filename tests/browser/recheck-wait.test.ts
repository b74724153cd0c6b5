/**
 * The report page of a check that waits for its automatic re-check (greylisting, issue 9 item 4),
 * in headless Chromium on the built app with the real worker: an open relay behind greylisting
 * (the scripted fake lets a retry of the same sender and recipient through after 8 s; the
 * in-probe retry after 100 ms is too early). The page shows the waiting state — "Re-checking at
 * HH:MM UTC (greylisting)", the interim verdict marked not final, a countdown — without a reload,
 * then the final verdict once the re-check ran; a reload during the wait shows the interim
 * verdict in the banner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { requireOrSkip } from "@/tests/support/require";
import { startGreylisting } from "@/tests/fakes/presets";
import type { FakeServer } from "@/tests/fakes/types";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";

const FAKE = "127.0.0.63";
const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };

describe.sequential("the report page while a re-check is due", () => {
  let service: RunningService | null = null;
  let browser: Browser | null = null;
  let fake: FakeServer | null = null;
  let dns: LocalDnsServer | null = null;

  beforeAll(async () => {
    if (!chromium.ok) return;
    dns = await startDnsServer({});
    fake = await startGreylisting({ host: FAKE, port: 25, relay: "open", greylistDelayMs: 8_000 });
    service = await startService({ dnsServers: [dns.address], env: { RECHECK_DELAYS_SECONDS: "10,20", RELAYCHECK_RETRY_PAUSE_MS: "100" } });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await fake?.close();
    await dns?.close();
  });

  it("shows the re-check time and the interim verdict, then the final verdict", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const created = await fetch(`${service!.baseUrl}/api/v1/checks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: FAKE }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };

    const bctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await bctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${service!.baseUrl}/checks/${id}`);

    // Live: the wait arrives as an event, without a reload.
    await page.waitForSelector('[data-live-status="waiting"]', { timeout: 30_000 }).catch(async (e: unknown) => {
      const view = (await (await fetch(`${service!.baseUrl}/api/v1/checks/${id}`)).json()) as { status: string; verdict: string; reason: string };
      throw new Error(`no waiting state (check ${view.status}, ${view.verdict}: ${view.reason}; page: ${await page.locator('[role="status"]').textContent().catch(() => "?")}): ${String(e)}`);
    });
    const status = (await page.locator('[role="status"]').textContent()) ?? "";
    expect(status).toMatch(/^Re-checking at \d\d:\d\d UTC \(greylisting\)\.$/);
    const followUp = page.locator('[data-follow-up="waiting"]');
    expect(await followUp.getAttribute("data-interim-verdict")).toBe("inconclusive");
    const until = (await followUp.getAttribute("data-until"))!;
    expect(status).toContain(until.slice(11, 16));
    expect(await followUp.textContent()).toMatch(/Interim verdict: Inconclusive \(not final\)/);
    expect(await followUp.textContent()).toMatch(/Re-checking at \d\d:\d\d UTC \(greylisting\): \d+ cases got a temporary refusal\./);
    // The countdown ticks.
    const first = await page.locator("[data-countdown]").textContent();
    await expect.poll(() => page.locator("[data-countdown]").textContent(), { timeout: 5_000, interval: 200 }).not.toBe(first);

    // A second viewer who opens the page during the wait sees the interim verdict in the banner.
    const other = await bctx.newPage();
    await other.goto(`${service!.baseUrl}/checks/${id}`);
    const banner = (await other.locator('section[aria-labelledby="verdict-heading"]').textContent()) ?? "";
    if ((await other.locator('[data-live-status="waiting"]').count()) > 0) {
      expect(banner).toMatch(/Interim verdict: Inconclusive \(not final\)/);
      expect(banner).toMatch(/Re-checking at \d\d:\d\d UTC/);
    }
    await other.close();

    // Then the re-check runs and the page lands on the final report.
    await expect.poll(async () => (await page.locator("#verdict-heading").textContent()) ?? "", { timeout: 60_000, interval: 200 }).toMatch(/is an open relay/);
    expect(await page.locator('tr[data-outcome="accepted"]').count()).toBeGreaterThan(0);
    expect(await page.locator("[data-follow-up]").count()).toBe(0);
    expect(fake!.log.dataAttempts).toBe(0);
    expect(errors).toEqual([]);
    await bctx.close();
  }, 120_000);
});
