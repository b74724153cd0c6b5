/**
 * Alerts: one AlertDelivery row per channel, sent by the `deliver-alert` job (job id
 * `alert-<id>`, so one job per delivery) with BullMQ's exponential backoff between tries. The row
 * is the delivery log: every try appends its outcome; the row ends `delivered` or `failed`.
 *
 * A test alert (the API's test-webhook and test-email) is tried once, at once, by the request
 * that asked for it, and logged the same way.
 */
import { parseStored } from "@/lib/checks/parse-stored";
import { getCheck } from "@/lib/checks/get-check";
import { newCheckId } from "@/lib/checks/check-id";
import { AppError } from "@/lib/errors";
import type { CheckQueue } from "@/lib/queue/create-check-queue";
import { deliverAlertJob } from "@/lib/queue/jobs";
import type { Prisma } from "@/lib/db/create-db";
import { alertEmailOf, buildAlertPayload, type AlertInput } from "./build-alert";
import { deliveryViewOf } from "./build-monitor-view";
import { alertPayloadSchema, deliveryAttemptSchema, type AlertChannel, type DeliveryView } from "./monitor-schema";
import type { MonitorServices, MonitorSettings } from "./monitor-settings";
import { sendAlertEmail } from "./send-email";
import { sendWebhook, type SendResult } from "./send-webhook";
import { z } from "zod";

export type DeliveryOutcome = "delivered" | "retry" | "failed" | "skipped";

/** Finished delivery jobs kept in Redis (the log is in PostgreSQL). */
const KEEP_FINISHED = { count: 1000 };

export const alertJobId = (deliveryId: string): string => `alert-${deliveryId}`;

type Tx = Prisma.TransactionClient;

/** The monitor fields an alert needs. */
export interface AlertTarget {
  id: string;
  target: string;
  ports: number[];
  intervalSeconds: number;
  webhookUrl: string | null;
  email: string | null;
}

/** Creates one pending delivery per channel the monitor has (inside the caller's transaction); returns their ids. */
export async function createDeliveries(
  tx: Tx,
  monitor: AlertTarget,
  content: Omit<AlertInput, "deliveryId" | "monitor" | "kind" | "publicUrl">,
  settings: Pick<MonitorSettings, "publicUrl">,
): Promise<string[]> {
  const channels: [AlertChannel, string][] = [];
  if (monitor.webhookUrl) channels.push(["webhook", monitor.webhookUrl]);
  if (monitor.email) channels.push(["email", monitor.email]);
  const ids: string[] = [];
  for (const [channel, destination] of channels) {
    const id = newCheckId();
    const payload = buildAlertPayload({ ...content, deliveryId: id, kind: "change", monitor, publicUrl: settings.publicUrl });
    await tx.alertDelivery.create({ data: { id, monitorId: monitor.id, checkId: content.check?.id ?? null, kind: "change", channel, destination, payload } });
    ids.push(id);
  }
  return ids;
}

export async function enqueueDeliveries(queue: CheckQueue, ids: string[], settings: Pick<MonitorSettings, "alertAttempts" | "alertRetryBaseMs">): Promise<void> {
  for (const deliveryId of ids) {
    await queue.add(deliverAlertJob.name, deliverAlertJob.payload.parse({ deliveryId }), {
      jobId: alertJobId(deliveryId),
      attempts: settings.alertAttempts,
      backoff: { type: "exponential", delay: settings.alertRetryBaseMs },
      removeOnComplete: KEEP_FINISHED,
      removeOnFail: KEEP_FINISHED,
    });
  }
}

const attemptLogSchema = z.array(deliveryAttemptSchema);

/**
 * One try of a pending delivery; logs it. `lastTry`: give it up if this try fails (the job's
 * last attempt, a test). The delivery's own count of tries (ALERT_ATTEMPTS) also ends it.
 */
export async function attemptDelivery(services: Pick<MonitorServices, "db" | "monitors" | "log">, deliveryId: string, options: { lastTry?: boolean } = {}): Promise<DeliveryOutcome> {
  const { db, monitors: ms } = services;
  const d = await db.alertDelivery.findUnique({ where: { id: deliveryId }, include: { monitor: { select: { webhookSecret: true } } } });
  if (!d || d.status !== "pending") return "skipped";
  const place = (what: string) => ({ checkId: d.checkId ?? d.monitorId, what: `alert_deliveries.${what} (${d.id})` });
  const payload = parseStored(alertPayloadSchema, d.payload, place("payload"));
  const at = new Date();
  const result: SendResult =
    d.channel === "webhook"
      ? await sendWebhook({ url: d.destination, body: JSON.stringify(payload), secret: d.monitor.webhookSecret, event: payload.type, deliveryId: d.id }, { allow: ms.webhookAllow })
      : await sendAlertEmail(d.destination, alertEmailOf(payload), { smtpUrl: ms.smtpUrl, from: ms.emailFrom, ehloName: ms.ehloName });
  const attempts = d.attempts + 1;
  const final = result.ok || result.permanent || options.lastTry === true || attempts >= ms.alertAttempts;
  const status = result.ok ? "delivered" : final ? "failed" : "pending";
  const attemptLog = [...parseStored(attemptLogSchema, d.attemptLog, place("attempt_log")), { at: at.toISOString(), ok: result.ok, statusCode: result.statusCode, error: result.error, ms: result.ms }];
  // Compare-and-set on the count of tries: a second runner of the same delivery logs nothing twice.
  await db.alertDelivery.updateMany({
    where: { id: d.id, status: "pending", attempts: d.attempts },
    data: { attempts, attemptLog, status, finishedAt: final ? new Date() : null },
  });
  services.log.info({ monitorId: d.monitorId, deliveryId: d.id, channel: d.channel, attempt: attempts, ok: result.ok, statusCode: result.statusCode, error: result.error, final }, "alert delivery tried");
  return result.ok ? "delivered" : final ? "failed" : "retry";
}

/** Sends a test alert to one channel of a monitor now, once; returns its log entry. */
export async function sendTestAlert(monitorId: string, apiKeyId: string, channel: AlertChannel, services: MonitorServices): Promise<DeliveryView> {
  const { db, monitors: ms } = services;
  const m = await db.monitor.findFirst({ where: { id: monitorId, apiKeyId } });
  if (!m) throw new AppError("not_found", "There is no monitor with this id for this API key.");
  const destination = channel === "webhook" ? m.webhookUrl : m.email;
  if (!destination) throw new AppError("bad_request", `This monitor has no ${channel === "webhook" ? "notify.webhook" : "notify.email"} to test.`);
  if (channel === "email" && !ms.smtpUrl) throw new AppError("bad_request", "This service sends no email alerts (its operator has not configured an SMTP relay).");
  const last = m.lastCheckId ? await getCheck(m.lastCheckId, services) : null;
  const id = newCheckId();
  const payload = buildAlertPayload({ deliveryId: id, kind: "test", monitor: m, check: last, previousCheck: null, diff: null, publicUrl: ms.publicUrl });
  await db.alertDelivery.create({ data: { id, monitorId: m.id, checkId: null, kind: "test", channel, destination, payload } });
  await attemptDelivery(services, id, { lastTry: true });
  const row = await db.alertDelivery.findUniqueOrThrow({ where: { id } });
  return deliveryViewOf(row);
}
