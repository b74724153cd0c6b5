/**
 * Issue 11, the fix-first report, in Debian's Chromium on the built service against a lab of mail
 * servers behind real MX records (support/lab.ts):
 * - the fix is above the fold at 1280 px and within the first two screens at 390 px, for an open
 *   relay, a server that falls for address tricks only, and a closed one;
 * - identical replies are grouped, and open to the cases;
 * - a server that refuses us in its greeting, and one nobody answers for, show only what was
 *   observed;
 * - the history page of a target, a changed verdict marked;
 * - the live view counts N of M with the time elapsed, rows in the report's order;
 * - axe-core finds no violation at all, on every state, in the light and the dark theme.
 * Page heights and where the fix starts are printed ("[fix-first] …") for the README.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startService, type RunningService } from "@/tests/support/service";
import { requireOrSkip } from "@/tests/support/require";
import { plannedCaseIds } from "@/components/report/live-progress";
import { readEvents } from "@/tests/service/read-events";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";
import { describeViolations, runAxe } from "./support/axe";
import { BLOCKED_GREETING, LAB, startLab, type Lab, type LabState } from "./support/lab";

const ARTIFACTS = path.resolve("test-results/browser");
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const FINISHED: LabState[] = ["open", "tricks", "closed", "grey", "blocked", "gone"];

const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };

describe.sequential("the fix-first report", () => {
  let service: RunningService | null = null;
  let browser: Browser | null = null;
  let lab: Lab | null = null;
  const ids: Partial<Record<LabState | "flip-before" | "flip-after", string>> = {};

  async function create(target: string): Promise<string> {
    const res = await fetch(`${service!.baseUrl}/api/v1/checks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ target }) });
    expect(res.status, await res.clone().text()).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  /** Waits for the check's event stream to end (usable in beforeAll, where expect.poll is not). */
  async function finished(id: string): Promise<void> {
    const { events } = await readEvents(`${service!.baseUrl}/api/v1/checks/${id}/events`);
    if (events.at(-1)?.type !== "done") throw new Error(`check ${id} ended with ${JSON.stringify(events.at(-1))}`);
  }

  async function open(url: string, viewport = DESKTOP, colorScheme: "light" | "dark" = "light"): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const ctx = await browser!.newContext({ viewport, colorScheme });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && m.text().includes("Content Security Policy")) errors.push(m.text());
    });
    await page.goto(`${service!.baseUrl}${url}`);
    return { page, errors, close: () => ctx.close() };
  }

  beforeAll(async () => {
    if (!chromium.ok) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    lab = await startLab();
    // Reuse window 0: every POST probes again (the history test checks one target twice).
    service = await startService({ dnsServers: [lab.dns.address], env: { RELAYCHECK_ALLOW_RESERVED_NAMES: "1", CHECK_REUSE_WINDOW_SECONDS: "0" } });
    browser = await launchChromium();
    for (const state of FINISHED) ids[state] = await create(LAB[state].domain);
    ids["flip-before"] = await create(LAB.flip.domain);
    for (const id of Object.values(ids)) await finished(id);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await lab?.close();
  });

  it.for<LabState>(["open", "tricks", "closed"])("%s: the fix is above the fold at 1280 px and within two screens at 390 px", { timeout: 60_000 }, async (state, ctx) => {
    requireOrSkip(ctx, chromium);
    for (const viewport of [DESKTOP, PHONE]) {
      const { page, errors, close } = await open(`/checks/${ids[state]}`, viewport);
      const card = page.locator("[data-section=what-to-do] li[data-advice]").first();
      const box = await card.boundingBox();
      expect(box).not.toBeNull();
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      console.log(`[fix-first] ${state} ${viewport.width} px: page ${height} px, first fix card at ${Math.round(box!.y)} px`);
      if (viewport === DESKTOP) {
        // The card's title and its first lines are on the first screen.
        expect(box!.y + 60).toBeLessThan(viewport.height);
      } else {
        expect(box!.y + 60).toBeLessThan(2 * viewport.height);
      }
      // For a relay, the first step of its fix too: on the first screen, within two on a phone.
      if (state !== "closed") {
        const step = await card.locator("ol li").first().boundingBox();
        expect(step!.y + 20).toBeLessThan((viewport === DESKTOP ? 1 : 2) * viewport.height);
      }
      // The verdict comes first, then the fix: nothing of the evidence in between.
      const order = await page.evaluate(() => {
        const top = (sel: string) => document.querySelector(sel)?.getBoundingClientRect().top ?? -1;
        return { verdict: top("#verdict-heading"), fix: top("[data-section=what-to-do]"), tests: top("[data-group]") };
      });
      expect(order.verdict).toBeLessThan(order.fix);
      expect(order.fix).toBeLessThan(order.tests);
      await page.screenshot({ path: path.join(ARTIFACTS, `fix-first-${state}-${viewport.width}.png`), fullPage: true });
      if (state === "open") {
        await page.screenshot({ path: path.join(ARTIFACTS, `readme-report-${viewport === DESKTOP ? "desktop" : "phone"}.png`) });
      }
      expect(errors).toEqual([]);
      await close();
    }
  });

  it("open relay and tricks: one card per cause, with the software's own settings, and no case ids in sentences", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const expectations = [
      { state: "open", id: "open-relay", steps: /smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination/ },
      { state: "tricks", id: "relay-address-tricks", steps: /allow_percent_hack = no.*swap_bangpath = no.*allow_untrusted_routing = no/s },
    ] as const;
    for (const { state, id, steps } of expectations) {
      const { page, close } = await open(`/checks/${ids[state]}`);
      const critical = page.locator("[data-section=what-to-do] li[data-severity=critical]");
      expect(await critical.count()).toBe(1);
      expect(await critical.getAttribute("data-advice")).toBe(id);
      // The steps of a critical card are open, not folded.
      expect(await critical.locator("ol").isVisible()).toBe(true);
      expect(await critical.locator("ol").textContent()).toMatch(steps);
      const prose = [await page.locator("#verdict-heading + p").textContent(), await critical.locator("p").allTextContents()].flat().join(" ");
      expect(prose).not.toMatch(/\b(third-party|null-sender|sender-ip-literal|percent-hack-[a-z-]+|bang-path-[a-z-]+|quoted-at)\b/);
      // The counts tell one story: accepted = prove relaying + prove nothing.
      const counts = (await page.locator("[data-counts]").first().textContent()) ?? "";
      expect(counts).toMatch(/^\d+ of \d+ relay attempts accepted/);
      await close();
    }
  }, 60_000);

  it("groups identical replies: one line per reply, opening to its cases", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const { page, close } = await open(`/checks/${ids.closed}`);
    const refused = page.locator("[data-group=refused]").filter({ hasText: "Relaying denied" });
    const summary = refused.locator("summary");
    expect(await summary.textContent()).toMatch(/Refused\s*(\d+) cases\s*·\s*554 5\.7\.1 Relaying denied/);
    const n = Number(/(\d+) cases/.exec((await summary.textContent()) ?? "")![1]);
    expect(n).toBeGreaterThan(1);
    // Closed, its rows are hidden; by keyboard it opens to exactly its cases.
    expect(await refused.locator("tr[data-outcome]").first().isVisible()).toBe(false);
    await summary.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => refused.locator("tr[data-outcome]").first().isVisible()).toBe(true);
    expect(await refused.locator("tr[data-outcome=rejected]").count()).toBe(n);
    await close();
  });

  it("a server that refuses us in its greeting, and one nobody answers for: only what was observed", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const terms = (page: Page) => page.locator("dl dt").allTextContents();

    const blocked = await open(`/checks/${ids.blocked}`);
    let page = blocked.page;
    expect(await page.locator("#verdict-heading").textContent()).toBe("blocked.test refused our connection");
    expect(await page.locator("#verdict-heading + p").textContent()).toContain(`It refused our connection in its greeting: “${BLOCKED_GREETING}”`);
    expect(await terms(page)).toEqual(["Greeting", "EHLO", "Reverse DNS (PTR)", "Timings"]);
    expect(await page.locator("dd").first().textContent()).toContain(BLOCKED_GREETING);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).not.toMatch(/none received|STARTTLS not offered|not offered \(on this connection\)|could not be reached/);
    expect(text).not.toContain(`(${LAB.blocked.ip}) (${LAB.blocked.ip})`);
    expect(await page.locator("[data-advice=unreachable] strong").textContent()).toBe("The server refused our connection in its greeting");
    await page.screenshot({ path: path.join(ARTIFACTS, "fix-first-blocked-1280.png"), fullPage: true });
    await blocked.close();

    const gone = await open(`/checks/${ids.gone}`);
    page = gone.page;
    expect(await page.locator("#verdict-heading").textContent()).toBe("gone.test could not be reached");
    expect(await terms(page)).toEqual(["Connection", "Reverse DNS (PTR)", "Timings"]);
    expect(await page.getByRole("heading", { name: "Timeline" }).count()).toBe(0);
    const lines = /Full transcript \((\d+) (lines?)\)/.exec((await page.locator("summary", { hasText: "Full transcript" }).textContent()) ?? "");
    expect(lines).not.toBeNull();
    expect(lines![2]).toBe(lines![1] === "1" ? "line" : "lines");
    await page.screenshot({ path: path.join(ARTIFACTS, "fix-first-gone-1280.png"), fullPage: true });
    await gone.close();
  });

  it("the history page: the checks of one target, newest first, a changed verdict marked", async (ctx) => {
    requireOrSkip(ctx, chromium);
    lab!.openFlip();
    ids["flip-after"] = await create(LAB.flip.domain);
    await finished(ids["flip-after"]);

    const { page, errors, close } = await open(`/checks?target=${LAB.flip.domain}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Checks of flip.test");
    const rows = page.locator("tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator("a").getAttribute("href")).toBe(`/checks/${ids["flip-after"]}`);
    expect(await rows.nth(0).getAttribute("data-changed")).toBe("true");
    expect(await rows.nth(0).textContent()).toMatch(/Open relay.*changed: was not an open relay/);
    expect(await rows.nth(1).getAttribute("data-changed")).toBeNull();
    await page.screenshot({ path: path.join(ARTIFACTS, "readme-history.png") });

    // The report links to it; the page's own form looks up another target, without JavaScript too.
    await page.goto(`${service!.baseUrl}/checks/${ids["flip-after"]}`);
    await page.getByRole("link", { name: "All checks of flip.test" }).click();
    await page.waitForURL(/\/checks\?target=flip\.test$/);
    await page.getByLabel("Mail server or domain").fill("not a host name!");
    await page.getByRole("button", { name: "Show its checks" }).click();
    await page.waitForURL(/\/checks\?target=not/);
    expect(((await page.locator("form [role=alert]").textContent()) ?? "").length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await close();

    expect((await fetch(`${service!.baseUrl}/checks?target=${LAB.closed.domain}`)).status).toBe(200);
    expect((await fetch(`${service!.baseUrl}/checks`)).status).toBe(200);
  }, 120_000);

  it("live: N of M tests per server, the time elapsed, rows in the report's order; no axe violation while it runs", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const plan = plannedCaseIds({ kind: "domain", name: LAB.slow.domain }, { host: LAB.slow.mx, ip: LAB.slow.ip });
    const { page, errors, close } = await open("/");
    await page.getByLabel("Mail server or domain").fill(LAB.slow.domain);
    await page.getByRole("button", { name: "Check", exact: true }).click();
    await page.waitForURL(/\/checks\/[A-Za-z0-9_-]{22}$/, { timeout: 15_000 });

    const status = page.getByRole("status").first();
    const progress = async () => {
      const m = /Testing 1 server: (\d+) of (\d+) tests done/.exec((await status.textContent()) ?? "");
      return m ? { done: Number(m[1]), total: Number(m[2]) } : null;
    };
    await expect.poll(async () => (await progress())?.done ?? 0, { timeout: 60_000, interval: 50 }).toBeGreaterThan(0);
    const first = (await progress())!;
    expect(first.total).toBe(plan.length);
    expect(first.done).toBeLessThan(plan.length);
    expect(await page.locator("[data-elapsed]").textContent()).toMatch(/^\d+:\d\d elapsed$/);
    // The counter moves on, the rows stay in the plan's order (the finished report's order).
    await expect.poll(async () => (await progress())?.done ?? plan.length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(first.done);
    const live = await page.locator("[data-live-status] tr[data-outcome]").evaluateAll((rows) => rows.map((r) => r.id.replace(/^.*?-case-/, "")));
    expect(live.length).toBeGreaterThan(1);
    expect(live).toEqual(plan.filter((id) => live.includes(id)));

    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      if (!(await page.locator("[data-live-status]").count())) break;
      const violations = await runAxe(page);
      console.log(`[axe] live ${colorScheme}: ${violations.length} violations`);
      expect(describeViolations(violations)).toBe("");
    }

    await expect.poll(async () => (await page.locator("#verdict-heading").textContent()) ?? "", { timeout: 90_000, interval: 200 }).toMatch(/is an open relay/);
    expect(errors).toEqual([]);
    await close();
  }, 180_000);

  it("axe-core: no violation at all, on every state, in the light and the dark theme", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const pages = [
      "/",
      "/checks",
      `/checks?target=${LAB.flip.domain}`,
      "/checks?target=not+a+host",
      ...FINISHED.map((s) => `/checks/${ids[s]}`),
      `/checks/${ids["flip-after"]}`,
      "/checks/AAAAAAAAAAAAAAAAAAAAAA",
    ];
    const found: string[] = [];
    for (const [viewport, colorScheme] of [[DESKTOP, "light"], [PHONE, "dark"]] as const) {
      for (const p of pages) {
        const { page, close } = await open(p, viewport, colorScheme);
        // Every fold open: what a reader can reach must pass too.
        await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
        const violations = await runAxe(page);
        if (violations.length) {
          found.push(`${p} ${viewport.width}px ${colorScheme}:\n${describeViolations(violations)}`);
          console.log(`[axe] ${found.at(-1)}`);
        }
        await close();
      }
    }
    console.log(`[axe] ${pages.length * 2} page states scanned, ${found.length} with violations`);
    expect(found.join("\n\n")).toBe("");
  }, 480_000);

  it("keeps copies of the README screenshots", (ctx) => {
    requireOrSkip(ctx, chromium);
    if (!process.env.RELAYCHECK_UPDATE_SCREENSHOTS) return;
    for (const name of ["report-desktop", "report-phone", "history"]) copyFileSync(path.join(ARTIFACTS, `readme-${name}.png`), path.resolve("docs/screenshots", `${name}.png`));
  });

  it("never sent DATA to any server", (ctx) => {
    requireOrSkip(ctx, chromium);
    expect(lab!.dataAttempts()).toBe(0);
  });
});
