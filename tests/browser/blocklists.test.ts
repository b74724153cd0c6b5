/**
 * The Blocklists panel in a real browser (Debian's Chromium through playwright-core), on the
 * built service with a real worker: a domain whose MX is an open relay listed on two lists, one
 * list answering something it does not document and the domain list refusing this resolver. The
 * panel says "listed on 2 of 7", links the delisting pages, shows the lists that could not be
 * asked as such; the advice ties it to the relay; the page passes axe. All DNS goes to the local
 * server; the fake listens on an address of its own (127.0.7.1), port 25.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { queryName } from "@/lib/probe/check-blocklists";
import { selectBlocklists } from "@/lib/probe/blocklists";
import { startService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { requireOrSkip } from "@/tests/support/require";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";
import { startFakeSmtp, type BrowserFake } from "./support/fake-smtp";
import { describeViolations, runAxe, seriousOnly } from "./support/axe";

const RELAY = "127.0.7.1";
const ARTIFACTS = path.resolve("test-results/browser");
const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };
const IPV4_LISTS = selectBlocklists(undefined).filter((l) => l.kind === "ip" && l.ipv4).length;

describe.sequential("the Blocklists panel in a browser", () => {
  let service: Awaited<ReturnType<typeof startService>> | null = null;
  let browser: Browser | null = null;
  let fake: BrowserFake | null = null;
  let dns: LocalDnsServer | null = null;

  beforeAll(async () => {
    if (!chromium.ok) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    fake = await startFakeSmtp({ host: RELAY, behaviour: "open" });
    dns = await startDnsServer({
      mx: { "listed.test": [{ exchange: "mx.listed.test", priority: 10 }] },
      a: {
        "mx.listed.test": [RELAY],
        [queryName("ip", RELAY, "zen.spamhaus.org")!]: ["127.0.0.2", "127.0.0.10"],
        [queryName("ip", RELAY, "bl.spamcop.net")!]: ["127.0.0.2"],
        [queryName("ip", RELAY, "b.barracudacentral.org")!]: ["127.0.0.99"],
        "listed.test.dbl.spamhaus.org": ["127.255.255.254"],
      },
      ptr: { [RELAY]: ["mx.listed.test"] },
    });
    service = await startService({ dnsServers: [dns.address], env: { RELAYCHECK_ALLOW_RESERVED_NAMES: "true" } });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await fake?.close();
    await dns?.close();
  });

  it("shows listed on N of M with meanings and delisting links, lists not asked as such, and the advice that ties them to the relay", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const bctx = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await bctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(`${service!.baseUrl}/`);
    await page.getByLabel("Mail server or domain").fill("listed.test");
    await page.getByRole("button", { name: "Check", exact: true }).click();
    await page.waitForURL(/\/checks\/[A-Za-z0-9_-]{22}$/, { timeout: 15_000 });
    await expect.poll(async () => (await page.locator("#verdict-heading").textContent()) ?? "", { timeout: 60_000, interval: 200 }).toMatch(/is an open relay/);
    // The finished report (server-rendered), not the live view.
    await page.reload();

    const panel = page.locator("section[data-blocklists]");
    expect(await panel.getAttribute("data-blocklists")).toBe("listed");
    expect(await panel.getByRole("heading", { name: "Blocklists" }).count()).toBe(1);
    const address = panel.locator(`[data-blocklist-subject="${RELAY}"]`);
    expect(await address.textContent()).toContain(`listed on 2 of ${IPV4_LISTS} lists`);
    expect(await address.textContent()).toContain("1 could not be asked");

    const listed = address.locator('[data-blocklist-status="listed"]');
    expect(await listed.count()).toBe(2);
    const zen = listed.filter({ hasText: "Spamhaus ZEN" });
    expect(await zen.textContent()).toContain("SBL: a known spam source or spam operation");
    expect(await zen.textContent()).toContain("PBL (ISP maintained)");
    expect(await zen.getByRole("link", { name: "Delisting page of Spamhaus ZEN" }).getAttribute("href")).toBe("https://check.spamhaus.org/");
    expect(await listed.filter({ hasText: "SpamCop" }).getByRole("link").getAttribute("href")).toBe("https://www.spamcop.net/bl.shtml");

    const notAsked = address.locator('[data-blocklist-status="could-not-query"]');
    expect(await notAsked.textContent()).toMatch(/Barracuda Reputation Block List could not be asked: the list answered with a code it does not document .*\(answer 127\.0\.0\.99\)/);
    expect(await address.locator('[data-blocklist-status="not-listed"]').count()).toBe(IPV4_LISTS - 3);

    // The domain lists: the DBL refuses this resolver (could not be asked), SURBL says not listed.
    const domain = panel.locator('[data-blocklist-subject="listed.test"]');
    expect(await domain.locator('[data-blocklist-status="could-not-query"]').textContent()).toMatch(/Spamhaus DBL could not be asked: Spamhaus refuses queries that come through public or shared DNS resolvers/);
    expect(await domain.locator('[data-blocklist-status="not-listed"]').textContent()).toContain("SURBL multi");

    expect(await page.getByText("Open relay and listed on Spamhaus ZEN, SpamCop: close the relay first, then request delisting").count()).toBe(1);

    await panel.screenshot({ path: path.join(ARTIFACTS, "blocklists-panel.png") });
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
    const serious = seriousOnly(await runAxe(page));
    expect(describeViolations(serious)).toBe("");
    expect(errors).toEqual([]);
    await bctx.close();
  }, 120_000);

  it("every blocklist question went to the local DNS server", async (ctx) => {
    requireOrSkip(ctx, chromium);
    const zones = selectBlocklists(undefined).map((l) => l.zone);
    const asked = dns!.queries.filter((q) => zones.some((z) => q.name.endsWith(`.${z}`))).map((q) => q.name);
    expect(new Set(asked)).toEqual(
      new Set([
        ...selectBlocklists(undefined).filter((l) => l.kind === "ip" && l.ipv4).map((l) => queryName("ip", RELAY, l.zone)!),
        ...selectBlocklists(undefined).filter((l) => l.kind === "domain").flatMap((l) => [`listed.test.${l.zone}`, `mx.listed.test.${l.zone}`]),
      ]),
    );
  });
});
