/**
 * The pages end to end in a real browser (Debian's Chromium through playwright-core) against the
 * built service, a real worker and fake SMTP servers on loopback addresses, port 25:
 * type a target, watch the cases arrive live, land on the finished report; one test per verdict;
 * hostile text stays text; the pages pass an axe-core scan; screenshots at phone and desktop width.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startService } from "@/tests/support/service";
import { requireOrSkip } from "@/tests/support/require";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";
import { startFakeSmtp, type BrowserFake } from "./support/fake-smtp";
import { describeViolations, runAxe, seriousOnly } from "./support/axe";

const OPEN = "127.0.0.51";
const CLOSED = "127.0.0.52";
const GREY = "127.0.0.53";
const NOBODY = "127.0.0.60"; // nothing listens here: connection refused
const HOSTILE_BANNER = "closed.fake.test ESMTP <script>window.__owned = 1</script><img src=x onerror=\"window.__owned=2\">";

const ARTIFACTS = path.resolve("test-results/browser");

const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };

describe.sequential("report pages in a browser", () => {
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  let browser: Browser | null = null;
  const fakes: BrowserFake[] = [];
  const reports: Record<string, string> = {};

  beforeAll(async () => {
    if (!chromium.ok) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    fakes.push(
      // RCPT replies are slowed down so the test sees the cases arrive one by one.
      await startFakeSmtp({ host: OPEN, behaviour: "open", replyDelayMs: 150 }),
      await startFakeSmtp({ host: CLOSED, behaviour: "closed", banner: HOSTILE_BANNER }),
      await startFakeSmtp({ host: GREY, behaviour: "greylisting" }),
    );
    service = await startService();
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function newPage(options: { width?: number; javaScriptEnabled?: boolean; colorScheme?: "light" | "dark" } = {}): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
    const ctx = await browser!.newContext({
      viewport: { width: options.width ?? 1280, height: 900 },
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      colorScheme: options.colorScheme ?? "light",
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // The pages run under a nonce-based CSP (proxy.ts): anything it blocks is a bug.
    page.on("console", (m) => {
      if (m.type() === "error" && m.text().includes("Content Security Policy")) errors.push(m.text());
    });
    page.on("dialog", (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return { ctx, page, errors };
  }

  /** Types the target into the home page's form and waits for the permalink. */
  async function submit(page: Page, target: string): Promise<{ id: string; submittedAt: number }> {
    await page.goto(`${service!.baseUrl}/`);
    await page.getByLabel("Mail server or domain").fill(target);
    const submittedAt = Date.now();
    await page.getByRole("button", { name: "Check", exact: true }).click();
    await page.waitForURL(/\/checks\/[A-Za-z0-9_-]{22}$/, { timeout: 15_000 });
    const id = new URL(page.url()).pathname.split("/").pop()!;
    return { id, submittedAt };
  }

  async function waitForVerdict(page: Page, pattern: RegExp): Promise<void> {
    await expect.poll(async () => (await page.locator("#verdict-heading").textContent()) ?? "", { timeout: 60_000, interval: 200 }).toMatch(pattern);
  }

  it("open relay: type a target, see the cases arrive live, land on the finished report", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page, errors } = await newPage();
    const { id, submittedAt } = await submit(page, OPEN);
    reports.open = id;

    // Live: a case row is on the page while the live view is still there (the check still runs).
    const live = await page.waitForFunction(
      () => {
        const view = document.querySelector("[data-live-status]");
        const row = document.querySelector("tr[data-outcome]");
        return view && row ? view.getAttribute("data-live-status") : null;
      },
      null,
      { timeout: 30_000, polling: 20 },
    );
    const firstCaseMs = Date.now() - submittedAt;
    expect(await live.jsonValue()).toMatch(/running|done/);
    console.log(`[browser] time from submit to first case shown: ${firstCaseMs} ms`);

    await waitForVerdict(page, /is an open relay/);
    await expect.poll(() => page.locator("[data-live-status]").count()).toBe(0);
    const relayed = page.locator('tr[data-outcome="accepted"]', { hasText: "Accepted — relays" });
    expect(await relayed.count()).toBeGreaterThan(0);
    expect(await page.getByText("MAIL FROM:<", { exact: false }).count()).toBeGreaterThan(0);
    const transcript = await page.locator("pre[id$='-transcript']").first().textContent();
    expect(transcript).toContain("RCPT TO:<");
    expect(transcript).not.toMatch(/^\[s\d+ +\+\d+ms\] C: DATA/m);

    await page.screenshot({ path: path.join(ARTIFACTS, "open-relay-desktop.png"), fullPage: true });
    // The first screen only, small: a copy is kept in docs/screenshots/ for the README.
    await page.screenshot({ path: path.join(ARTIFACTS, "readme-report-desktop.png"), clip: { x: 0, y: 0, width: 1280, height: 720 } });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, "open-relay-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    await bctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: service!.baseUrl });
    await page.getByRole("button", { name: "Copy transcript" }).first().click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain("RCPT TO:<");
    expect(errors).toEqual([]);
    await bctx.close();
  }, 90_000);

  it("closed server: not an open relay, and a <script> in the banner stays text", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page, errors } = await newPage({ colorScheme: "dark" });
    const { id } = await submit(page, CLOSED);
    reports.closed = id;
    await waitForVerdict(page, /is not an open relay/);
    const greeting = page.locator("dd", { hasText: "<script>window.__owned = 1</script>" }).first();
    await expect.poll(() => greeting.count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
    expect(await page.locator("img[src=x]").count()).toBe(0);
    expect(await page.locator('tr[data-outcome="rejected"]').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, "closed-desktop-dark.png"), fullPage: true });
    await bctx.close();
  }, 90_000);

  it("greylisting: inconclusive, with the temporary failures shown", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page } = await newPage({ width: 390 });
    reports.grey = (await submit(page, GREY)).id;
    await waitForVerdict(page, /inconclusive/i);
    expect(await page.locator('tr[data-outcome="tempfail"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "greylisting-phone.png"), fullPage: true });
    await bctx.close();
  }, 90_000);

  it("nobody listening: unreachable", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page } = await newPage();
    reports.unreachable = (await submit(page, NOBODY)).id;
    await waitForVerdict(page, /could not be reached/);
    expect(await page.getByText("connection refused").count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "unreachable-desktop.png"), fullPage: true });
    await bctx.close();
  }, 90_000);

  it("keyboard only: the API's error is shown next to the field", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page } = await newPage();
    await page.goto(`${service!.baseUrl}/`);
    const field = page.getByLabel("Mail server or domain");
    // Keyboard only: Tab to the field (after the skip link and the home link), type, Enter.
    for (let i = 0; i < 5 && !(await field.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press("Tab");
    expect(await field.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type("not a host name!");
    await page.keyboard.press("Enter");
    const alert = page.locator("form p[role=alert]");
    await expect.poll(async () => ((await alert.textContent()) ?? "").length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await field.getAttribute("aria-describedby")).toContain(await alert.getAttribute("id"));
    expect(page.url()).toBe(`${service!.baseUrl}/`);
    await bctx.close();
  });

  it("works without JavaScript: the form posts, the finished report renders", async (ctx) => {
    requireOrSkip(ctx, chromium);
    expect(reports.closed).toBeDefined();
    const { ctx: bctx, page } = await newPage({ javaScriptEnabled: false });
    await page.goto(`${service!.baseUrl}/checks/${reports.closed}`);
    expect(await page.locator("#verdict-heading").textContent()).toMatch(/is not an open relay/);
    expect(await page.locator("tr[data-outcome]").count()).toBeGreaterThan(0);

    // The form posts to /checks, which answers 303 to the permalink (the recent check, reused)…
    await page.goto(`${service!.baseUrl}/`);
    await page.getByLabel("Mail server or domain").fill(CLOSED);
    await Promise.all([page.waitForURL(`${service!.baseUrl}/checks/${reports.closed}`), page.getByRole("button", { name: "Check", exact: true }).click()]);
    // …or back to the form with the API's message.
    await page.goto(`${service!.baseUrl}/`);
    await page.getByLabel("Mail server or domain").fill("not a host name!");
    await Promise.all([page.waitForURL(/\/\?error=/), page.getByRole("button", { name: "Check", exact: true }).click()]);
    expect(((await page.locator("form p[role=alert]").textContent()) ?? "").length).toBeGreaterThan(0);
    expect(await page.getByLabel("Mail server or domain").inputValue()).toBe("not a host name!");
    await bctx.close();
  }, 60_000);

  it("check again within the cool-down shows the service's answer", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { ctx: bctx, page } = await newPage();
    await page.goto(`${service!.baseUrl}/checks/${reports.unreachable}`);
    await page.getByRole("button", { name: `Check ${NOBODY} again` }).click();
    // The test service keeps the default cool-down (60 s): the API answers with this same check.
    await expect.poll(async () => (await page.locator("form p[role=status]").textContent()) ?? "", { timeout: 15_000 }).toMatch(/still recent/);
    expect(new URL(page.url()).pathname).toBe(`/checks/${reports.unreachable}`);
    await bctx.close();
  }, 60_000);

  it("serves JSON, the transcript as text, and 404 for unknown ids", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const base = service!.baseUrl;
    const json = await fetch(`${base}/checks/${reports.open}?format=json`);
    expect(json.status).toBe(200);
    expect(((await json.json()) as { id: string }).id).toBe(reports.open);
    const text = await fetch(`${base}/checks/${reports.open}/transcript?server=${encodeURIComponent(`${OPEN}:25`)}`);
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await text.text()).toContain(`RCPT TO:<`);
    expect((await fetch(`${base}/checks/AAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404);
    expect((await fetch(`${base}/checks/not-an-id`)).status).toBe(404);

    const { ctx: bctx, page, errors } = await newPage();
    for (const p of ["/checks/AAAAAAAAAAAAAAAAAAAAAA", "/no-such-page"]) {
      const res = await page.goto(`${base}${p}`);
      expect(res?.status()).toBe(404);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not found");
    }
    expect(errors).toEqual([]);
    await bctx.close();
  });

  it("has no serious or critical axe-core violations (desktop light, phone dark)", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const pages = ["/", `/checks/${reports.open}`, `/checks/${reports.grey}`, `/checks/${reports.unreachable}`];
    const found: string[] = [];
    let scanned = 0;
    for (const [width, colorScheme] of [[1280, "light"], [390, "dark"]] as const) {
      for (const p of pages) {
        const { ctx: bctx, page } = await newPage({ width, colorScheme });
        await page.goto(`${service!.baseUrl}${p}`);
        await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
        const violations = await runAxe(page);
        scanned++;
        const serious = seriousOnly(violations);
        console.log(`[axe] ${p} ${width}px ${colorScheme}: ${violations.length} violations (${serious.length} serious or critical)`);
        if (serious.length) found.push(`${p} ${width}px ${colorScheme}:\n${describeViolations(serious)}`);
        await bctx.close();
      }
    }
    expect(scanned).toBe(pages.length * 2);
    expect(found.join("\n\n")).toBe("");
  }, 120_000);

  it("never sent DATA to any server", () => {
    for (const f of fakes) expect(f.dataAttempts).toBe(0);
  });
});
