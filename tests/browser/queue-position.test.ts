/**
 * A check waiting in the queue shows its place, and the place moves up live while the page is
 * open (no event carries it: the page reads it again every few seconds). No worker runs here,
 * so the checks stay queued until the test moves the first one out of the way.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startService } from "@/tests/support/service";
import { requireOrSkip } from "@/tests/support/require";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";

const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };

describe("queue position", () => {
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  let browser: Browser | null = null;

  beforeAll(async () => {
    if (!chromium.ok) return;
    service = await startService({ worker: false });
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it("shows the place in the queue and updates it while the page is open", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const post = async (target: string) => {
      const res = await fetch(`${service!.baseUrl}/api/v1/checks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ target }) });
      expect(res.status).toBe(202);
      return (await res.json()) as { id: string; url: string };
    };
    const first = await post("127.0.0.81");
    const second = await post("127.0.0.82");

    const page = await (await browser!.newContext()).newPage();
    await page.goto(`${service!.baseUrl}${second.url}`);
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/Waiting in the queue: position 2/);

    // The first check leaves the queue (as if a worker had taken it).
    const db = new pg.Client({ connectionString: service!.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query(`UPDATE checks SET status = 'running' WHERE id = $1`, [first.id]);
    } finally {
      await db.end();
    }
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/Waiting in the queue: position 1/);
  });
});
