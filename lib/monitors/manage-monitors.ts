/**
 * The monitors of an API key: create, list, read, change, delete, and their delivery log. A
 * monitor belongs to the key that made it; another key's monitor is "not found", never
 * "forbidden" (ids are not to be probed).
 *
 * The row in PostgreSQL is the monitor; its job scheduler follows it. Creating or changing one
 * writes the scheduler at once, but a Redis that fails then costs nothing: keepSchedulers
 * re-creates every scheduler from PostgreSQL within a minute (./keep-monitor-schedulers.ts).
 */
import net from "node:net";
import { AppError } from "@/lib/errors";
import { newCheckId } from "@/lib/checks/check-id";
import { validateTarget } from "@/lib/checks/validate-target";
import { RECENT_RUNS, deliveryViewOf, monitorViewOf, type RunRow } from "./build-monitor-view";
import { removeMonitorScheduler, runMonitorNow, upsertMonitorScheduler } from "./keep-monitor-schedulers";
import { scheduleOffsetMs } from "./monitor-schedule";
import { DEFAULT_INTERVAL_SECONDS, type CreateMonitorInput, type DeliveryView, type MonitorView, type UpdateMonitorInput } from "./monitor-schema";
import type { MonitorServices, MonitorSettings } from "./monitor-settings";
import { newWebhookSecret } from "./sign-webhook";
import { webhookAddressDecision } from "./send-webhook";

/** Deliveries shown in the log. */
export const DELIVERY_LOG_LIMIT = 50;

const RUNS = { orderBy: { createdAt: "desc" as const }, take: RECENT_RUNS, include: { check: { select: { status: true, verdict: true, createdAt: true } } } };

export async function createMonitor(input: CreateMonitorInput, apiKeyId: string, services: MonitorServices): Promise<MonitorView> {
  const { db, settings, monitors: ms, log } = services;
  const interval = checkInterval(input.interval ?? DEFAULT_INTERVAL_SECONDS, ms);
  const { target, ports } = validateTarget(input.target, input.ports, settings);
  const webhookUrl = input.notify?.webhook ? checkWebhookUrl(input.notify.webhook, ms) : null;
  const email = input.notify?.email ? checkEmail(input.notify.email, ms) : null;
  const now = Date.now();
  const row = await db.$transaction(async (tx) => {
    // One at a time per key, so that two requests at once cannot both pass the cap.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`monitors:${apiKeyId}`}, 0))`;
    if ((await tx.monitor.count({ where: { apiKeyId } })) >= ms.perKey) {
      throw new AppError("bad_request", `This API key has ${ms.perKey} monitors, the most it may have. Delete one first.`);
    }
    return tx.monitor.create({
      data: {
        id: newCheckId(),
        apiKeyId,
        target: target.name,
        input: target.input,
        ports,
        intervalSeconds: interval,
        offsetMs: scheduleOffsetMs(interval * 1000, now),
        webhookUrl,
        webhookSecret: newWebhookSecret(),
        email,
      },
    });
  });
  const monitorLog = log.child({ monitorId: row.id });
  try {
    await upsertMonitorScheduler(services.queue, row);
    await runMonitorNow(services.queue, row.id);
  } catch (err) {
    monitorLog.warn({ err }, "could not schedule the new monitor now; the scheduler keeper will");
  }
  monitorLog.info({ target: row.target, ports, interval }, "monitor created");
  return monitorViewOf(row, []);
}

export async function listMonitors(apiKeyId: string, services: Pick<MonitorServices, "db">): Promise<MonitorView[]> {
  const rows = await services.db.monitor.findMany({ where: { apiKeyId }, orderBy: { createdAt: "asc" }, include: { runs: RUNS } });
  const now = new Date();
  return rows.map(({ runs, ...m }) => monitorViewOf(m, runs as RunRow[], now));
}

export async function getMonitor(id: string, apiKeyId: string, services: Pick<MonitorServices, "db">): Promise<MonitorView> {
  const row = await services.db.monitor.findFirst({ where: { id, apiKeyId }, include: { runs: RUNS } });
  if (!row) throw notFound();
  const { runs, ...m } = row;
  return monitorViewOf(m, runs as RunRow[]);
}

export async function updateMonitor(id: string, apiKeyId: string, input: UpdateMonitorInput, services: MonitorServices): Promise<MonitorView> {
  const { db, settings, monitors: ms } = services;
  const current = await db.monitor.findFirst({ where: { id, apiKeyId } });
  if (!current) throw notFound();
  const data: { intervalSeconds?: number; offsetMs?: number; ports?: number[]; webhookUrl?: string | null; email?: string | null } = {};
  if (input.interval !== undefined && input.interval !== current.intervalSeconds) {
    data.intervalSeconds = checkInterval(input.interval, ms);
    data.offsetMs = scheduleOffsetMs(data.intervalSeconds * 1000, Date.now());
  }
  if (input.ports) data.ports = validateTarget(current.input, input.ports, settings).ports;
  if (input.notify?.webhook !== undefined) data.webhookUrl = input.notify.webhook === null ? null : checkWebhookUrl(input.notify.webhook, ms);
  if (input.notify?.email !== undefined) data.email = input.notify.email === null ? null : checkEmail(input.notify.email, ms);
  const { count } = await db.monitor.updateMany({ where: { id, apiKeyId }, data });
  if (count === 0) throw notFound();
  if (data.intervalSeconds !== undefined) {
    await upsertMonitorScheduler(services.queue, { id, intervalSeconds: data.intervalSeconds, offsetMs: data.offsetMs! }).catch((err: unknown) =>
      services.log.warn({ err, monitorId: id }, "could not reschedule the monitor now; the scheduler keeper will"),
    );
  }
  return getMonitor(id, apiKeyId, services);
}

export async function deleteMonitor(id: string, apiKeyId: string, services: MonitorServices): Promise<void> {
  const { count } = await services.db.monitor.deleteMany({ where: { id, apiKeyId } });
  if (count === 0) throw notFound();
  await removeMonitorScheduler(services.queue, id).catch((err: unknown) =>
    services.log.warn({ err, monitorId: id }, "could not remove the monitor's scheduler now; the scheduler keeper will"),
  );
  services.log.info({ monitorId: id }, "monitor deleted");
}

export async function listDeliveries(id: string, apiKeyId: string, services: Pick<MonitorServices, "db">): Promise<DeliveryView[]> {
  const owned = await services.db.monitor.count({ where: { id, apiKeyId } });
  if (owned === 0) throw notFound();
  const rows = await services.db.alertDelivery.findMany({ where: { monitorId: id }, orderBy: { createdAt: "desc" }, take: DELIVERY_LOG_LIMIT });
  return rows.map(deliveryViewOf);
}

function notFound(): AppError {
  return new AppError("not_found", "There is no monitor with this id for this API key.");
}

function checkInterval(seconds: number, ms: MonitorSettings): number {
  if (seconds < ms.minIntervalSeconds) throw new AppError("bad_request", `interval must be at least ${ms.minIntervalSeconds} seconds.`);
  return seconds;
}

/** An address typed into the URL must pass the target policy now; names are checked when sent (lib/monitors/send-webhook.ts). */
function checkWebhookUrl(url: string, ms: Pick<MonitorSettings, "webhookAllow">): string {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  if (net.isIP(host)) {
    const decision = webhookAddressDecision(host, ms.webhookAllow);
    if (!decision.allowed) throw new AppError("target_refused", `notify.webhook: ${decision.reason}.`);
  }
  return url;
}

function checkEmail(address: string, ms: Pick<MonitorSettings, "smtpUrl">): string {
  if (!ms.smtpUrl) throw new AppError("bad_request", "This service sends no email alerts (its operator has not configured an SMTP relay): use notify.webhook.");
  return address;
}
