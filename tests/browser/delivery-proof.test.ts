/**
 * Proof by delivery in the browser (issue 12): the form's checkbox (offered to everyone here),
 * the page "waiting for delivery" with a live countdown, then the proof on the report once the
 * message arrives: open relay, "proven: delivered in … via …", the Received lines.
 *
 * Real parts: the web app, the worker, a real Postfix open relay whose transport_maps route the
 * sink domain to the sink on loopback, and the sink process. The sink starts only once the page
 * shows the wait: until then Postfix finds nobody at the sink and retries every second or two.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { postfixAvailable, startPostfix, type PostfixInstance } from "@/tests/support/postfix";
import { requireOrSkip } from "@/tests/support/require";
import { freePort, startService, type RunningService } from "@/tests/support/service";
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from "./support/browser";

const chromium = { ok: chromiumAvailable(), reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)` };
const postfix = postfixAvailable();
const ready = chromium.ok && postfix.ok ? { ok: true as const } : { ok: false as const, reason: chromium.ok ? (postfix as { reason: string }).reason : chromium.reason };
const SINK_HOST = "127.0.0.87";
const ROOT = path.resolve(import.meta.dirname, "..", "..");

describe("proof by delivery on the page", () => {
  let service: RunningService | null = null;
  let browser: Browser | null = null;
  let relay: PostfixInstance | null = null;
  let sink: ChildProcess | null = null;
  let sinkPort = 0;

  beforeAll(async () => {
    if (!ready.ok) return;
    sinkPort = await freePort();
    relay = await startPostfix({
      preset: "open",
      myhostname: "mx.browser.test",
      domain: "browser.test",
      transports: { "sink.test": `smtp:[${SINK_HOST}]:${sinkPort}` },
      // Retry a deferred message within a second or two (Postfix's default is minutes).
      main: { minimal_backoff_time: "1s", maximal_backoff_time: "2s", queue_run_delay: "1s" },
    });
    service = await startService({
      env: { RELAYCHECK_SINK_DOMAIN: "sink.test", RELAYCHECK_DELIVERY_PROOF: "everyone", RELAYCHECK_DELIVERY_WAIT_MS: "120000", RELAYCHECK_DNSBLS: "off" },
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    if (sink && sink.exitCode === null) {
      sink.kill("SIGTERM");
      await new Promise((r) => sink!.once("exit", r));
    }
    await browser?.close();
    await service?.stop();
    await relay?.close();
  });

  it("asks for the proof on the form, shows the wait with a countdown, then the proof", async (ctx) => {
    requireOrSkip(ctx, ready);
    const page = await (await browser!.newContext()).newPage();
    await page.goto(`${service!.baseUrl}/`);
    await expect.poll(() => page.locator("#proof-by-delivery").textContent()).toMatch(/one short, harmless message/);
    await page.getByLabel("Mail server or domain").fill(relay!.host);
    await page.getByLabel(/Prove by delivery/).check();
    await page.getByRole("button", { name: "Check" }).click();
    await page.waitForURL(/\/checks\//, { timeout: 15_000 });

    const status = page.getByRole("status");
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toMatch(/Waiting for delivery of the proof message/);
    const countdown = page.locator("[data-countdown]");
    const first = await countdown.textContent();
    expect(first).toMatch(/^\d+:\d\d left$/);
    await expect.poll(() => countdown.textContent(), { timeout: 5_000 }).not.toBe(first); // it ticks
    await expect.poll(() => page.locator('[data-proof="sent"]').count()).toBeGreaterThan(0);

    // Now the sink comes up; Postfix's next retry delivers the message.
    sink = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "sink", "main.ts")], {
      cwd: ROOT,
      env: { NODE_ENV: "test", PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...service!.env, RELAYCHECK_SINK_HOST: SINK_HOST, RELAYCHECK_SINK_PORT: String(sinkPort) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });

    const proof = page.locator('[data-proof="delivered"]');
    await expect.poll(() => proof.count(), { timeout: 45_000 }).toBeGreaterThan(0);
    expect(await proof.first().textContent()).toMatch(/proven: delivered in \d+\.\d s via 127\.0\.0\.\d+/);
    expect(await proof.first().locator("[data-received] li").first().textContent()).toMatch(/^Received: from .* by mx\.browser\.test/);
    expect(await page.locator("[data-countdown]").count()).toBe(0);
  }, 120_000);
});
