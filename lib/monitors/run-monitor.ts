/**
 * A monitor's turn (the `run-monitor` job, from its scheduler or at creation):
 *
 * 1. gone (deleted) or its key revoked: remove the scheduler, nothing else;
 * 2. settle the runs whose checks have ended (normally the worker did already);
 * 3. skip the turn while a check of this monitor still runs, while it backs off, or when the last
 *    check started less than half an interval ago (a turn right after the first check, a
 *    scheduler re-created after an interval change);
 * 4. start a check like an API client with the monitor's key would: one point of the key's check
 *    limit, then createCheck with `fresh` (a check of the same target running, or finished within
 *    the cool-down, is shared instead), so every rate limit and the per-server cap still apply;
 *    a refusal (a limit, a target now refused) is noted on the monitor (`lastError`) and the
 *    next turn tries again;
 * 5. record the run; a shared check that has already ended is settled at once.
 */
import { AppError } from "@/lib/errors";
import { createCheck } from "@/lib/checks/create-check";
import { isTerminalStatus } from "@/lib/checks/record-check-event";
import { removeMonitorScheduler } from "./keep-monitor-schedulers";
import { MIN_GAP_FRACTION } from "./monitor-schedule";
import type { MonitorServices } from "./monitor-settings";
import { settleMonitorRun } from "./settle-monitor-run";

export type MonitorTurn = { started: string; reused: boolean } | { skipped: "gone" | "key-revoked" | "check-running" | "backing-off" | "ran-recently" | "refused" };

/** The pseudo client address of a key's checks (createCheck stores its hash, as for any client). */
export const keyClient = (apiKeyId: string): string => `api-key:${apiKeyId}`;

export async function runMonitor(services: MonitorServices, monitorId: string, now = new Date()): Promise<MonitorTurn> {
  const { db } = services;
  const log = services.log.child({ monitorId });
  const first = await db.monitor.findUnique({ where: { id: monitorId }, include: { apiKey: { select: { revokedAt: true } } } });
  if (!first || first.apiKey.revokedAt) {
    await removeMonitorScheduler(services.queue, monitorId).catch(() => {});
    return { skipped: first ? "key-revoked" : "gone" };
  }

  const open = await db.monitorRun.findMany({ where: { monitorId, settledAt: null }, orderBy: { createdAt: "asc" }, select: { checkId: true } });
  let running = 0;
  for (const r of open) {
    const result = await settleMonitorRun(services, monitorId, r.checkId);
    if (!result.settled && (await isOpen(services, monitorId, r.checkId))) running++;
  }
  if (running > 0) return skip(log, "check-running");

  const monitor = await db.monitor.findUnique({ where: { id: monitorId }, include: { apiKey: { select: { id: true, checkPoints: true } } } });
  if (!monitor) return { skipped: "gone" };
  if (monitor.backoffUntil && monitor.backoffUntil > now) return skip(log, "backing-off", { until: monitor.backoffUntil.toISOString(), failures: monitor.consecutiveFailures });
  const last = await db.monitorRun.findFirst({ where: { monitorId }, orderBy: { createdAt: "desc" }, select: { createdAt: true } });
  if (last && now.getTime() - last.createdAt.getTime() < monitor.intervalSeconds * 1000 * MIN_GAP_FRACTION) return skip(log, "ran-recently");

  let created;
  try {
    await services.limiters.keyChecks(monitor.apiKey.checkPoints).consume(monitor.apiKey.id);
    created = await createCheck({ target: monitor.input, ports: monitor.ports, fresh: true }, { clientIp: keyClient(monitor.apiKey.id) }, services);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    await db.monitor.update({ where: { id: monitorId }, data: { lastError: `${e.message} (${new Date().toISOString()})` } });
    log.warn({ code: e.code, reason: e.message }, "monitor could not start its check");
    return { skipped: "refused" };
  }
  const checkId = created.check.id;
  await db.monitorRun.createMany({ data: [{ monitorId, checkId }], skipDuplicates: true });
  if (monitor.lastError) await db.monitor.update({ where: { id: monitorId }, data: { lastError: null } });
  log.info({ checkId, reused: !created.created }, "monitor started a check");
  if (isTerminalStatus(created.check.status)) await settleMonitorRun(services, monitorId, checkId);
  return { started: checkId, reused: !created.created };
}

async function isOpen(services: MonitorServices, monitorId: string, checkId: string): Promise<boolean> {
  const run = await services.db.monitorRun.findUnique({ where: { monitorId_checkId: { monitorId, checkId } }, select: { settledAt: true } });
  return run !== null && run.settledAt === null;
}

function skip(log: MonitorServices["log"], reason: Extract<MonitorTurn, { skipped: string }>["skipped"], detail: Record<string, unknown> = {}): MonitorTurn {
  log.info({ reason, ...detail }, "monitor turn skipped");
  return { skipped: reason };
}
