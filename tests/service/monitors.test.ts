/**
 * Monitoring end to end (issue 14): the real web app and worker, real BullMQ job schedulers
 * running monitors every second or two (RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS=1, the
 * test-only minimum), against fake SMTP servers on 127.0.0.200–209, a webhook receiver (127.0.0.210) that checks
 * signatures and fails the first try of each alert, and an SMTP sink (127.0.0.211, smtp-server)
 * for the alert emails.
 *
 * The fake that "opens its relay between runs" accepts, once opened, exactly one more case (the
 * null sender to an outside recipient): whenever the switch falls, even in the middle of a
 * check, every check sees either the closed server or the open one, so one switch is one change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { startService, type RunningService } from "@/tests/support/service";
import { startDnsServer, type LocalDnsServer } from "@/tests/support/dns-server";
import { startScriptedSmtp, type RcptContext, type Reply } from "@/tests/fakes/scripted-smtp";
import type { FakeServer } from "@/tests/fakes/types";
import { startWebhookReceiver, type WebhookReceiver } from "@/tests/fakes/webhook-receiver";
import { decodeMessage, startSmtpSink, type SmtpSink } from "@/tests/fakes/smtp-sink";
import { createDb, type Db } from "@/lib/db/create-db";
import { createApiKey } from "@/lib/api-keys";
import { verifyWebhookSignature } from "@/lib/monitors/sign-webhook";
import { monitorSchedulerId } from "@/lib/monitors/keep-monitor-schedulers";
import type { AlertPayload, MonitorView } from "@/lib/monitors/monitor-schema";
import { runMonitorCommand } from "@/cli/monitor-command";
import { bodyOf, createApiClient, type ApiClient } from "./api-client";
import { parsePrometheusText, samplesOf, valueOf } from "./parse-prometheus";

const SWITCHING = "127.0.0.200";
const NOBODY = "127.0.0.201"; // nothing listens: every check is unreachable
const QUIET = "127.0.0.202";
const PUBLIC_URL = "https://relaycheck.example";
const METRICS_TOKEN = "metrics-token-for-the-tests";
/** How long a test waits for something the schedulers will do within a few seconds. */
const WAIT_MS = 45_000;

let dns: LocalDnsServer;
let service: RunningService;
let api: ApiClient;
let db: Db;
let hooks: WebhookReceiver;
let sink: SmtpSink;
const fakes: FakeServer[] = [];
let key: string;
let otherKey: string;
const secrets = new Map<string, string>();

/** The switching fake: closed; once `relay.open`, it also accepts the null sender to an outside recipient. */
const relay = { open: false };
function switchingPolicy(ctx: RcptContext): Reply {
  const { rcpt } = ctx;
  if (rcpt.ownDomain) return ctx.users.includes(rcpt.local.toLowerCase()) ? { code: 250, lines: ["2.1.5 Ok"] } : { code: 550, lines: [`5.1.1 <${rcpt.raw}>: User unknown`] };
  if (relay.open && ctx.mailFrom === "" && !rcpt.trick && !rcpt.malformed && !rcpt.sourceRoute) return { code: 250, lines: ["2.1.5 Ok"] };
  return { code: 554, lines: [`5.7.1 <${rcpt.raw}>: Relaying denied`] };
}

const auth = (k = key) => ({ authorization: `Bearer ${k}` });

/** Polls `read` until `done` holds (the schedulers act within seconds); fails with the last value. */
async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 800)}\n--- service output ---\n${service.logs().split("\n").slice(-40).join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

const monitorOf = async (id: string): Promise<MonitorView> => bodyOf(await api.get("/api/v1/monitors/{id}", { path: { id }, headers: auth() }), 200);
const settledRuns = (m: MonitorView) => m.recentRuns.filter((r) => r.settledAt !== null);

beforeAll(async () => {
  dns = await startDnsServer({});
  hooks = await startWebhookReceiver({
    host: "127.0.0.210",
    // The first try of each change alert fails: the service must try again.
    respond: (hook, all) => {
      const id = hook.headers["x-relaycheck-delivery"];
      const event = hook.headers["x-relaycheck-event"];
      return event === "monitor.changed" && all.filter((h) => h.headers["x-relaycheck-delivery"] === id).length === 1 ? 500 : 204;
    },
  });
  sink = await startSmtpSink({ host: "127.0.0.211" });
  fakes.push(await startScriptedSmtp({ host: SWITCHING, port: 25, policy: switchingPolicy }));
  fakes.push(await startScriptedSmtp({ host: QUIET, port: 25, policy: "closed" }));
  service = await startService({
    dnsServers: [dns.address],
    env: {
      RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS: "1",
      CHECK_FRESH_COOLDOWN_SECONDS: "0",
      RECONCILE_EVERY_MS: "1000",
      ALERT_ATTEMPTS: "4",
      ALERT_RETRY_BASE_MS: "200",
      WEBHOOK_ALLOW_TARGETS: "127.0.0.0/8",
      SMTP_URL: `smtp://${sink.host}:${sink.port}`,
      ALERT_EMAIL_FROM: "relaycheck <alerts@relaycheck.example>",
      PUBLIC_URL,
      WORKER_METRICS_PORT: "0",
      METRICS_TOKEN,
    },
  });
  api = await createApiClient(service.baseUrl);
  db = createDb({ url: service.env.DATABASE_URL!, maxConnections: 2 });
  key = (await createApiKey(db, "monitor tests")).key;
  otherKey = (await createApiKey(db, "someone else")).key;
});

afterAll(async () => {
  await db?.$disconnect();
  await service?.stop();
  await Promise.all([...fakes.map((f) => f.close()), hooks?.close(), sink?.close(), dns?.close()]);
});

describe("the monitors API", () => {
  it("needs an API key, applies the defaults and the minimum, and shows a key only its own monitors", async () => {
    const anonymous = await api.post("/api/v1/monitors", { body: { target: QUIET } });
    expect(bodyOf(anonymous, 401).error.code).toBe("invalid_api_key");

    const tooOften = await api.post("/api/v1/monitors", { body: { target: QUIET, interval: 0 }, headers: auth() });
    expect(bodyOf(tooOften, 400).error.message).toMatch(/interval/);
    const refused = await api.post("/api/v1/monitors", { body: { target: QUIET, notify: { webhook: "http://169.254.169.254/latest" } }, headers: auth() });
    expect(bodyOf(refused, 400).error.code).toBe("target_refused");

    const created = await api.post("/api/v1/monitors", { body: { target: QUIET }, headers: auth() });
    const monitor = bodyOf(created, 201);
    expect(created.res.headers.get("location")).toBe(`/api/v1/monitors/${monitor.id}`);
    expect(monitor).toMatchObject({ target: QUIET, ports: [25], interval: 86_400, notify: { webhook: null, email: null }, state: "active", lastCheck: null });
    expect(monitor.webhookSecret).toMatch(/^whsec_/);

    // The first check runs at once, not a day later.
    const checked = await waitFor("the first check", () => monitorOf(monitor.id), (m) => m.lastVerdict !== null);
    expect(checked.lastVerdict).toBe("not-open-relay");

    expect(bodyOf(await api.get("/api/v1/monitors", { headers: auth() }), 200).monitors.map((m) => m.id)).toContain(monitor.id);
    expect(bodyOf(await api.get("/api/v1/monitors", { headers: auth(otherKey) }), 200).monitors).toEqual([]);
    expect(bodyOf(await api.get("/api/v1/monitors/{id}", { path: { id: monitor.id }, headers: auth(otherKey) }), 404).error.code).toBe("not_found");

    const changed = bodyOf(await api.patch("/api/v1/monitors/{id}", { path: { id: monitor.id }, body: { interval: 7200, notify: { email: "admin@example.org" } }, headers: auth() }), 200);
    expect(changed).toMatchObject({ interval: 7200, notify: { webhook: null, email: "admin@example.org" } });

    expect((await api.delete("/api/v1/monitors/{id}", { path: { id: monitor.id }, headers: auth() })).status).toBe(204);
    expect((await api.get("/api/v1/monitors/{id}", { path: { id: monitor.id }, headers: auth() })).status).toBe(404);
    const queue = new Queue("checks", { connection: new Redis(service.env.REDIS_URL!, { maxRetriesPerRequest: null }), prefix: service.env.REDIS_PREFIX });
    try {
      expect(await queue.getJobScheduler(monitorSchedulerId(monitor.id))).toBeUndefined();
    } finally {
      await queue.close();
    }
  });

  it("sends a test webhook and a test email at once, signed, and logs them", async () => {
    const monitor = bodyOf(await api.post("/api/v1/monitors", { body: { target: QUIET, interval: 3600, notify: { webhook: hooks.url, email: "ops@example.org" } }, headers: auth() }), 201);
    const hook = bodyOf(await api.post("/api/v1/monitors/{id}/test-webhook", { path: { id: monitor.id }, headers: auth() }), 200);
    expect(hook).toMatchObject({ kind: "test", channel: "webhook", destination: hooks.url, status: "delivered", attempts: [{ ok: true, statusCode: 204, error: null }] });
    const received = hooks.received.find((h) => h.headers["x-relaycheck-delivery"] === hook.id)!;
    expect(received.headers["x-relaycheck-event"]).toBe("monitor.test");
    expect(verifyWebhookSignature(monitor.webhookSecret, received.headers["x-relaycheck-signature"] as string, received.body)).toBe(true);
    api.validator.assert("AlertPayload", received.json);

    const mail = bodyOf(await api.post("/api/v1/monitors/{id}/test-email", { path: { id: monitor.id }, headers: auth() }), 200);
    expect(mail).toMatchObject({ kind: "test", channel: "email", status: "delivered" });
    const message = sink.messages.find((m) => m.to.includes("ops@example.org"))!;
    expect(decodeMessage(message.raw).subject).toBe("[relaycheck] Test alert for 127.0.0.202");
    expect(message.from).toBe("alerts@relaycheck.example");

    const log = bodyOf(await api.get("/api/v1/monitors/{id}/deliveries", { path: { id: monitor.id }, headers: auth() }), 200);
    expect(log.deliveries.map((d) => d.id).sort()).toEqual([hook.id, mail.id].sort());
    await api.delete("/api/v1/monitors/{id}", { path: { id: monitor.id }, headers: auth() });
  });
});

describe("a monitored server whose relay opens", () => {
  it("raises exactly one alert: a signed webhook tried again after a 500, and one email; runs without a change raise none", async () => {
    const created = bodyOf(await api.post("/api/v1/monitors", { body: { target: SWITCHING, interval: 2, notify: { webhook: hooks.url, email: "postmaster@example.org" } }, headers: auth() }), 201);
    secrets.set(created.id, created.webhookSecret);
    const closedRuns = await waitFor("two runs of the closed server", () => monitorOf(created.id), (m) => settledRuns(m).length >= 2);
    expect(settledRuns(closedRuns).every((r) => r.verdict === "not-open-relay" && !r.changed)).toBe(true);
    const lastClosed = settledRuns(closedRuns)[0]!.checkId;

    relay.open = true;
    const opened = await waitFor(
      "two runs after the relay opened",
      () => monitorOf(created.id),
      (m) => {
        const runs = settledRuns(m);
        const first = runs.findLastIndex((r) => r.verdict === "open-relay");
        return first >= 2; // the first open run, and two after it
      },
    );
    const runs = settledRuns(opened);
    const changes = runs.filter((r) => r.changed);
    expect(changes).toHaveLength(1);
    const firstOpen = changes[0]!;
    expect(firstOpen.verdict).toBe("open-relay");
    expect(opened.lastChangedAt).not.toBeNull();

    const log = await waitFor(
      "both alerts delivered",
      async () => bodyOf(await api.get("/api/v1/monitors/{id}/deliveries", { path: { id: created.id }, headers: auth() }), 200).deliveries,
      (ds) => ds.length === 2 && ds.every((d) => d.status !== "pending"),
    );
    const webhook = log.find((d) => d.channel === "webhook")!;
    const email = log.find((d) => d.channel === "email")!;
    expect(webhook).toMatchObject({ kind: "change", status: "delivered", checkId: firstOpen.checkId, destination: hooks.url });
    expect(webhook.attempts.map((a) => [a.ok, a.statusCode])).toEqual([
      [false, 500],
      [true, 204],
    ]);
    expect(email).toMatchObject({ kind: "change", status: "delivered", checkId: firstOpen.checkId, attempts: [{ ok: true }] });

    // The receiver saw the one alert twice (the same delivery id), each try validly signed.
    const tries = hooks.received.filter((h) => h.headers["x-relaycheck-event"] === "monitor.changed");
    expect(tries).toHaveLength(2);
    expect(new Set(tries.map((h) => h.headers["x-relaycheck-delivery"]))).toEqual(new Set([webhook.id]));
    for (const t of tries) expect(verifyWebhookSignature(created.webhookSecret, t.headers["x-relaycheck-signature"] as string, t.body)).toBe(true);
    const payload = tries[0]!.json as AlertPayload;
    api.validator.assert("AlertPayload", payload);
    expect(payload).toMatchObject({
      type: "monitor.changed",
      monitor: { id: created.id, target: SWITCHING, url: `${PUBLIC_URL}/api/v1/monitors/${created.id}` },
      check: { id: firstOpen.checkId, url: `${PUBLIC_URL}/checks/${firstOpen.checkId}`, verdict: "open-relay" },
      previousCheck: { verdict: "not-open-relay" },
      diff: { changed: true, verdict: { from: "not-open-relay", to: "open-relay" } },
    });
    expect(payload.diff!.cases).toEqual([expect.objectContaining({ caseId: "null-sender", from: "rejected", to: "accepted", flipped: true })]);

    const mails = sink.messages.filter((m) => m.to.includes("postmaster@example.org"));
    expect(mails).toHaveLength(1);
    const mail = decodeMessage(mails[0]!.raw);
    expect(mail.subject).toBe("[relaycheck] 127.0.0.200: not an open relay → open relay");
    expect(mail.text).toContain("- Verdict: not an open relay → open relay.");
    expect(mail.text).toContain(`Report: ${PUBLIC_URL}/checks/${firstOpen.checkId}`);

    // The change, as the API and the report page tell it.
    const previous = runs[runs.indexOf(firstOpen) + 1]!.checkId;
    const diff = bodyOf(await api.get("/api/v1/checks/{id}/diff", { path: { id: firstOpen.checkId }, query: { against: previous } }), 200);
    expect(diff).toMatchObject({ changed: true, verdict: { from: "not-open-relay", to: "open-relay" }, from: { id: previous }, to: { id: firstOpen.checkId } });
    expect(bodyOf(await api.get("/api/v1/checks/{id}/diff", { path: { id: firstOpen.checkId }, query: { against: lastClosed } }), 200).changed).toBe(true);
    const page = await (await fetch(`${service.baseUrl}/checks/${firstOpen.checkId}`)).text();
    expect(page).toContain("What changed since the last check");
    expect(page).toContain("The result changed.");
    expect(page).toContain("Verdict: not an open relay → open relay.");
    const samePage = await (await fetch(`${service.baseUrl}/checks/${runs[0]!.checkId}`)).text();
    expect(samePage).toContain("Nothing changed");

    // Badges: the monitor's says "yes"; a finished report's is cached for good.
    const badge = await fetch(`${service.baseUrl}/api/v1/monitors/${created.id}/badge.svg`);
    expect(badge.status).toBe(200);
    expect(badge.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(badge.headers.get("cache-control")).toMatch(/^public, max-age=300/);
    expect(badge.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(await badge.text()).toMatch(/<title>open relay: yes · \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/title>/);
    const reportBadge = await fetch(`${service.baseUrl}/api/v1/checks/${lastClosed}/badge.svg`);
    expect(reportBadge.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await reportBadge.text()).toContain("open relay: no");
    const again = await fetch(`${service.baseUrl}/api/v1/checks/${lastClosed}/badge.svg`, { headers: { "if-none-match": reportBadge.headers.get("etag")! } });
    expect(again.status).toBe(304);

    await api.delete("/api/v1/monitors/{id}", { path: { id: created.id }, headers: auth() });
    relay.open = false;
  }, 120_000);
});

describe("a monitored server that keeps failing", () => {
  it("backs off and says so", async () => {
    const created = bodyOf(await api.post("/api/v1/monitors", { body: { target: NOBODY, interval: 1 }, headers: auth() }), 201);
    const backing = await waitFor("the back-off", () => monitorOf(created.id), (m) => m.state === "backing-off");
    expect(backing.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(backing.lastVerdict).toBe("unreachable");
    expect(backing.stateReason).toMatch(/failed the last \d+ checks/);
    expect(Date.parse(backing.backoffUntil!) - Date.parse(backing.lastCheckedAt!)).toBeGreaterThanOrEqual(2000);
    expect(Date.parse(backing.nextRunAt)).toBeGreaterThanOrEqual(Date.parse(backing.backoffUntil!));
    await api.delete("/api/v1/monitors/{id}", { path: { id: created.id }, headers: auth() });
  }, 60_000);
});

describe("the monitors' schedulers", () => {
  it("come back from PostgreSQL after Redis lost them, at the same times", async () => {
    const created = bodyOf(await api.post("/api/v1/monitors", { body: { target: QUIET, interval: 3600 }, headers: auth() }), 201);
    const queue = new Queue("checks", { connection: new Redis(service.env.REDIS_URL!, { maxRetriesPerRequest: null }), prefix: service.env.REDIS_PREFIX });
    try {
      const id = monitorSchedulerId(created.id);
      const before = await waitFor("the scheduler", () => queue.getJobScheduler(id), (s) => s !== undefined);
      await queue.removeJobScheduler(id);
      expect(await queue.getJobScheduler(id)).toBeUndefined();
      const after = await waitFor("the scheduler back", () => queue.getJobScheduler(id), (s) => s !== undefined);
      expect(after).toMatchObject({ every: 3_600_000, offset: before!.offset, next: before!.next });
    } finally {
      await queue.close();
    }
    await api.delete("/api/v1/monitors/{id}", { path: { id: created.id }, headers: auth() });
  });
});

describe("relaycheck monitor (the CLI)", () => {
  it("adds, lists and removes a monitor", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
    const env = { RELAYCHECK_API_KEY: key, RELAYCHECK_URL: service.baseUrl };
    expect(await runMonitorCommand(["add", QUIET, "--interval", "7200", "--json"], env, io)).toBe(0);
    const added = JSON.parse(out.join("")) as MonitorView;
    expect(added).toMatchObject({ target: QUIET, interval: 7200 });
    out.length = 0;
    expect(await runMonitorCommand(["list"], env, io)).toBe(0);
    expect(out.join("")).toContain(`${added.id}  ${QUIET}:25  every 2 h`);
    out.length = 0;
    expect(await runMonitorCommand(["rm", added.id], env, io)).toBe(0);
    expect(await runMonitorCommand(["rm", added.id], env, io)).toBe(3);
    expect(out.join("")).toMatch(/404: There is no monitor/);
  });
});

describe("/metrics", () => {
  it("is served by the web and the worker in Prometheus's text format, to loopback clients and to the token", async () => {
    const web = await fetch(`${service.baseUrl}/metrics`);
    expect(web.status).toBe(200);
    expect(web.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const webMetrics = parsePrometheusText(await web.text());
    expect(webMetrics.types.get("relaycheck_queue_jobs")).toBe("gauge");
    expect(samplesOf(webMetrics, "relaycheck_queue_jobs", { state: "waiting", process: "web" })).toHaveLength(1);
    expect(samplesOf(webMetrics, "relaycheck_sse_viewers", { process: "web" })).toHaveLength(1);
    expect(valueOf(webMetrics, "relaycheck_checks_recent", { status: "done" })).toBeGreaterThan(0);
    expect(samplesOf(webMetrics, "relaycheck_monitors", { state: "active" })).toHaveLength(1);
    const ours = (e: typeof webMetrics) => e.samples.filter((x) => x.name.startsWith("relaycheck_"));
    expect(ours(webMetrics).filter((x) => !Number.isFinite(x.value) && !x.labels.le)).toEqual([]);

    // Through a proxy (X-Forwarded-For) loopback is not enough: the token is.
    const proxied = await fetch(`${service.baseUrl}/metrics`, { headers: { "x-forwarded-for": "198.51.100.9" } });
    expect(proxied.status).toBe(401);
    expect(proxied.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${service.baseUrl}/metrics`, { headers: { "x-forwarded-for": "198.51.100.9", authorization: "Bearer wrong-token-wrong-token" } })).status).toBe(401);
    expect((await fetch(`${service.baseUrl}/metrics`, { headers: { "x-forwarded-for": "198.51.100.9", authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);

    const port = /"msg":"worker metrics listening"/.test(service.logs()) ? Number(/"port":(\d+)[^\n]*"msg":"worker metrics listening"/.exec(service.logs())?.[1]) : NaN;
    expect(port).toBeGreaterThan(0);
    const worker = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(worker.status).toBe(200);
    const workerMetrics = parsePrometheusText(await worker.text());
    expect(valueOf(workerMetrics, "relaycheck_checks_finished_total", { verdict: "open-relay", process: "worker" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(workerMetrics, "relaycheck_check_duration_seconds_count")).toBeGreaterThan(0);
    expect(valueOf(workerMetrics, "relaycheck_probe_duration_seconds_count", { status: "ok" })).toBeGreaterThan(0);
    expect(valueOf(workerMetrics, "relaycheck_job_wait_seconds_count", { job: "run-check" })).toBeGreaterThan(0);
    expect(valueOf(workerMetrics, "relaycheck_monitor_turns_total", { result: "started" })).toBeGreaterThan(0);
    expect(valueOf(workerMetrics, "relaycheck_alert_deliveries_total", { channel: "webhook", result: "retry" })).toBe(1);
    expect(valueOf(workerMetrics, "relaycheck_alert_deliveries_total", { channel: "webhook", result: "delivered" })).toBe(1);
    expect(workerMetrics.types.get("relaycheck_probe_duration_seconds")).toBe("histogram");
    expect(ours(workerMetrics).filter((x) => !Number.isFinite(x.value) && !x.labels.le)).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { "x-forwarded-for": "198.51.100.9" } })).status).toBe(401);
  });
});
