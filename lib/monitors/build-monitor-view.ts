/**
 * Rows → the API's MonitorView and DeliveryView. Closed-set columns and the attempt log are parsed
 * with their schemas on read (a damaged row is a logged `damaged_record`, as for checks).
 */
import { z } from "zod";
import type { AlertDelivery, Monitor } from "@/lib/generated/prisma/client";
import { parseStored } from "@/lib/checks/parse-stored";
import { checkStatusSchema, verdictSchema } from "@/lib/checks/report-schema";
import { BACKOFF_AFTER_FAILURES, nextRunMs } from "./monitor-schedule";
import { ALERT_CHANNELS, ALERT_KINDS, DELIVERY_STATUSES, deliveryAttemptSchema, type DeliveryView, type MonitorView } from "./monitor-schema";

/** Runs shown with a monitor. */
export const RECENT_RUNS = 20;

export interface RunRow {
  checkId: string;
  createdAt: Date;
  settledAt: Date | null;
  verdict: string | null;
  changed: boolean;
  check: { status: string; verdict: string | null; createdAt: Date };
}

const attemptLogSchema = z.array(deliveryAttemptSchema);

export function monitorLinks(id: string) {
  return { self: `/api/v1/monitors/${id}`, badge: `/api/v1/monitors/${id}/badge.svg`, deliveries: `/api/v1/monitors/${id}/deliveries` };
}

/** `runs`: the monitor's latest runs, newest first. */
export function monitorViewOf(m: Monitor, runs: RunRow[], now = new Date()): MonitorView {
  const place = (what: string) => ({ checkId: m.id, what: `monitors ${what}` });
  const intervalMs = m.intervalSeconds * 1000;
  const backingOff = m.consecutiveFailures >= BACKOFF_AFTER_FAILURES && m.backoffUntil !== null && m.backoffUntil > now;
  const latest = runs[0];
  return {
    id: m.id,
    target: m.target,
    input: m.input,
    ports: m.ports,
    interval: m.intervalSeconds,
    notify: { webhook: m.webhookUrl, email: m.email },
    webhookSecret: m.webhookSecret,
    state: backingOff ? "backing-off" : "active",
    stateReason: backingOff
      ? `The target failed the last ${m.consecutiveFailures} checks (unreachable, or the check failed): the next check waits until ${m.backoffUntil!.toISOString()}. One check that reaches it ends this.`
      : null,
    consecutiveFailures: m.consecutiveFailures,
    backoffUntil: m.backoffUntil?.toISOString() ?? null,
    nextRunAt: new Date(nextRunMs(intervalMs, m.offsetMs, now.getTime(), backingOff ? m.backoffUntil!.getTime() : null)).toISOString(),
    lastCheck: latest
      ? {
          id: latest.checkId,
          url: `/checks/${latest.checkId}`,
          status: parseStored(checkStatusSchema, latest.check.status, { checkId: latest.checkId, what: "checks.status" }),
          verdict: parseStored(verdictSchema.nullable(), latest.check.verdict, { checkId: latest.checkId, what: "checks.verdict" }),
          createdAt: latest.check.createdAt.toISOString(),
        }
      : null,
    lastVerdict: parseStored(verdictSchema.nullable(), m.lastVerdict, place("last_verdict")),
    lastCheckedAt: m.lastCheckedAt?.toISOString() ?? null,
    lastChangedAt: m.lastChangedAt?.toISOString() ?? null,
    lastError: m.lastError,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    recentRuns: runs.map((r) => ({
      checkId: r.checkId,
      url: `/checks/${r.checkId}`,
      createdAt: r.createdAt.toISOString(),
      settledAt: r.settledAt?.toISOString() ?? null,
      verdict: parseStored(verdictSchema.nullable(), r.verdict, place(`monitor_runs.verdict (${r.checkId})`)),
      changed: r.changed,
    })),
    links: monitorLinks(m.id),
  };
}

export function deliveryViewOf(d: AlertDelivery): DeliveryView {
  const place = (what: string) => ({ checkId: d.checkId ?? d.monitorId, what: `alert_deliveries.${what} (${d.id})` });
  return {
    id: d.id,
    kind: parseStored(z.enum(ALERT_KINDS), d.kind, place("kind")),
    channel: parseStored(z.enum(ALERT_CHANNELS), d.channel, place("channel")),
    destination: d.destination,
    status: parseStored(z.enum(DELIVERY_STATUSES), d.status, place("status")),
    checkId: d.checkId,
    attempts: parseStored(attemptLogSchema, d.attemptLog, place("attempt_log")),
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null,
  };
}
