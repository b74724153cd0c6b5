/**
 * Monitors on the real PostgreSQL and Redis, driving lib/monitors in this process (no worker):
 * - settling a finished check raises its alert exactly once, however many settle it at once (two
 *   workers, the monitor's next turn, the sweep), and two runs settling at once move the
 *   baseline one after the other;
 * - failures count towards the back-off, one answer ends it; a turn is skipped while a check runs
 *   or while the monitor backs off;
 * - the job schedulers follow PostgreSQL: created when missing or different, removed when their
 *   monitor is gone, left alone otherwise (a Redis that lost them gets them back).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessServices, type InProcessServices } from "@/tests/support/service";
import { createApiKey } from "@/lib/api-keys";
import { newCheckId } from "@/lib/checks/check-id";
import type { Verdict } from "@/lib/probe/types";
import { createMonitor, getMonitor, monitorSettingsFromEnv, runMonitor, settleMonitorRun, sweepMonitors, syncMonitorSchedulers, type MonitorServices } from "@/lib/monitors";
import { monitorSchedulerId } from "@/lib/monitors/keep-monitor-schedulers";

let ctx: InProcessServices;
let services: MonitorServices;
let keyId: string;

beforeAll(async () => {
  ctx = await startInProcessServices({ RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS: "1", WEBHOOK_ALLOW_TARGETS: "127.0.0.0/8", SMTP_URL: "smtp://127.0.0.219:2525" });
  services = { ...ctx.services, monitors: monitorSettingsFromEnv(ctx.env) };
  keyId = (await createApiKey(ctx.services.db, "monitor tests")).record.id;
});

afterAll(async () => {
  await ctx?.close();
});

const TARGET = "127.0.0.218";

/** A finished check of TARGET, stored as the worker would leave it (no servers: the verdict is what differs). */
async function finishedCheck(verdict: Verdict | null, status: "done" | "failed" = "done"): Promise<string> {
  const id = newCheckId();
  await ctx.services.db.check.create({
    data: { id, target: TARGET, targetKind: "ipv4", input: TARGET, ports: [25], status, schemaVersion: 1, verdict, reason: "", finishedAt: new Date(), ...(status === "failed" ? { errorCode: "internal", errorMessage: "lost" } : {}) },
  });
  return id;
}

async function newMonitor(interval = 3600): Promise<string> {
  const m = await createMonitor({ target: TARGET, interval, notify: { webhook: "http://127.0.0.219:8080/hook", email: "admin@example.org" } }, keyId, services);
  return m.id;
}

const addRun = (monitorId: string, checkId: string) => ctx.services.db.monitorRun.create({ data: { monitorId, checkId } });
const deliveries = (monitorId: string) => ctx.services.db.alertDelivery.findMany({ where: { monitorId } });

describe("settling a monitor's run", () => {
  it("raises one alert per channel for a changed verdict, however many settle it at once", async () => {
    const monitorId = await newMonitor();
    const first = await finishedCheck("not-open-relay");
    await addRun(monitorId, first);
    expect(await settleMonitorRun(services, monitorId, first)).toEqual({ settled: true, changed: false, deliveries: [] });

    const opened = await finishedCheck("open-relay");
    await addRun(monitorId, opened);
    const results = await Promise.all(Array.from({ length: 4 }, () => settleMonitorRun(services, monitorId, opened)));
    const settled = results.filter((r) => r.settled);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ changed: true });
    expect(settled[0]!.deliveries).toHaveLength(2);

    const rows = await deliveries(monitorId);
    expect(rows.map((d) => [d.channel, d.kind, d.status, d.checkId]).sort()).toEqual([
      ["email", "change", "pending", opened],
      ["webhook", "change", "pending", opened],
    ]);
    expect(rows[0]!.payload).toMatchObject({ type: "monitor.changed", check: { id: opened, url: expect.stringMatching(new RegExp(`/checks/${opened}$`)) }, previousCheck: { id: first }, diff: { verdict: { from: "not-open-relay", to: "open-relay" } } });
    const view = await getMonitor(monitorId, keyId, services);
    expect(view).toMatchObject({ lastVerdict: "open-relay", lastCheck: { id: opened }, recentRuns: [{ checkId: opened, changed: true }, { checkId: first, changed: false }] });
    // A settled run stays settled: nothing more happens.
    expect(await settleMonitorRun(services, monitorId, opened)).toMatchObject({ settled: false });
  });

  it("settles two runs at once one after the other: the alerts follow the baseline", async () => {
    const monitorId = await newMonitor();
    const base = await finishedCheck("open-relay");
    await addRun(monitorId, base);
    await settleMonitorRun(services, monitorId, base);
    const [a, b] = [await finishedCheck("not-open-relay"), await finishedCheck("not-open-relay")];
    await addRun(monitorId, a);
    await addRun(monitorId, b);
    const results = await Promise.all([settleMonitorRun(services, monitorId, a), settleMonitorRun(services, monitorId, b)]);
    expect(results.every((r) => r.settled)).toBe(true);
    // open → closed once, then closed → closed: one change, whichever order they settled in.
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(await deliveries(monitorId)).toHaveLength(2);
  });

  it("counts failures, backs off from the second, and one answer ends it", async () => {
    const monitorId = await newMonitor(60);
    const settle = async (verdict: Verdict | null, status: "done" | "failed" = "done") => {
      const id = await finishedCheck(verdict, status);
      await addRun(monitorId, id);
      await settleMonitorRun(services, monitorId, id);
      return getMonitor(monitorId, keyId, services);
    };
    expect(await settle("not-open-relay")).toMatchObject({ state: "active", consecutiveFailures: 0 });
    expect(await settle(null, "failed")).toMatchObject({ state: "active", consecutiveFailures: 1, backoffUntil: null, lastVerdict: "not-open-relay" });
    const backing = await settle("unreachable");
    expect(backing).toMatchObject({ state: "backing-off", consecutiveFailures: 2, stateReason: expect.stringContaining("failed the last 2 checks") });
    expect(Date.parse(backing.backoffUntil!) - Date.parse(backing.lastCheckedAt!)).toBe(120_000);
    expect(Date.parse(backing.nextRunAt)).toBeGreaterThanOrEqual(Date.parse(backing.backoffUntil!));
    // The turn is skipped while backing off.
    expect(await runMonitor(services, monitorId)).toEqual({ skipped: "backing-off" });
    expect(await settle("not-open-relay")).toMatchObject({ state: "active", consecutiveFailures: 0, backoffUntil: null });
  });

  it("skips a turn while its check runs; the sweep settles a run whose check ended", async () => {
    const monitorId = await newMonitor();
    const running = newCheckId();
    await ctx.services.db.check.create({ data: { id: running, target: TARGET, targetKind: "ipv4", input: TARGET, ports: [25], status: "running", schemaVersion: 1 } });
    await addRun(monitorId, running);
    expect(await runMonitor(services, monitorId)).toEqual({ skipped: "check-running" });
    await ctx.services.db.check.update({ where: { id: running }, data: { status: "done", verdict: "not-open-relay", finishedAt: new Date() } });
    expect((await sweepMonitors(services)).settled).toBeGreaterThanOrEqual(1);
    expect(await ctx.services.db.monitorRun.findUniqueOrThrow({ where: { monitorId_checkId: { monitorId, checkId: running } } })).toMatchObject({ verdict: "not-open-relay", settledAt: expect.any(Date) });
  });
});

describe("the monitors' job schedulers", () => {
  it("follow PostgreSQL: a lost one comes back with the same schedule, a deleted monitor's goes", async () => {
    const monitorId = await newMonitor(7200);
    const { queue, db } = ctx.services;
    await syncMonitorSchedulers(queue, db);
    const scheduler = await queue.getJobScheduler(monitorSchedulerId(monitorId));
    const row = await db.monitor.findUniqueOrThrow({ where: { id: monitorId } });
    expect(scheduler).toMatchObject({ every: 7_200_000, offset: row.offsetMs });
    expect(await syncMonitorSchedulers(queue, db)).toEqual({ created: 0, removed: 0 });

    await queue.removeJobScheduler(monitorSchedulerId(monitorId));
    expect(await syncMonitorSchedulers(queue, db)).toEqual({ created: 1, removed: 0 });
    expect(await queue.getJobScheduler(monitorSchedulerId(monitorId))).toMatchObject({ every: 7_200_000, offset: row.offsetMs, next: scheduler!.next });

    await db.monitor.delete({ where: { id: monitorId } });
    expect(await syncMonitorSchedulers(queue, db)).toEqual({ created: 0, removed: 1 });
    expect(await queue.getJobScheduler(monitorSchedulerId(monitorId))).toBeUndefined();
  });
});
