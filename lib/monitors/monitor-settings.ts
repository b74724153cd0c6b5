/**
 * What the monitor functions need besides the check services: their settings, from lib/env.ts.
 * Route handlers and the worker use `monitorSettingsFromEnv(getEnv())`; tests build their own.
 */
import type { Env } from "@/lib/env";
import { getEnv } from "@/lib/env";
import { getCheckServices, type CheckServices } from "@/lib/checks/services";
import { MIN_INTERVAL_SECONDS } from "./monitor-schema";

export interface MonitorSettings {
  /** Shortest interval, seconds: an hour (tests: RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS). */
  minIntervalSeconds: number;
  /** Monitors one API key may have. */
  perKey: number;
  /** Base of the report links in alerts, without a trailing slash. */
  publicUrl: string;
  /** SMTP relay of alert emails; null: no email alerts. */
  smtpUrl: string | null;
  emailFrom: string;
  /** Name the alert mailer gives in EHLO. */
  ehloName: string | null;
  /** CIDR ranges webhooks may reach although not public. */
  webhookAllow: string[];
  /** Tries of one alert, and the first retry's delay (doubling after). */
  alertAttempts: number;
  alertRetryBaseMs: number;
  /** Runs and deliveries older than this are deleted by the sweep; 0 keeps them. */
  retentionDays: number;
  /** How often the sweep runs (and the schedulers are re-created). */
  sweepEveryMs: number;
}

export type MonitorServices = CheckServices & { monitors: MonitorSettings };

export function monitorSettingsFromEnv(env: Env): MonitorSettings {
  return {
    minIntervalSeconds: env.RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS ?? MIN_INTERVAL_SECONDS,
    perKey: env.MONITORS_PER_KEY,
    publicUrl: (env.PUBLIC_URL ?? `http://${env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST}:${env.PORT}`).replace(/\/+$/, ""),
    smtpUrl: env.SMTP_URL ?? null,
    emailFrom: env.ALERT_EMAIL_FROM,
    ehloName: env.RELAYCHECK_EHLO_NAME ?? null,
    webhookAllow: env.WEBHOOK_ALLOW_TARGETS,
    alertAttempts: env.ALERT_ATTEMPTS,
    alertRetryBaseMs: env.ALERT_RETRY_BASE_MS,
    retentionDays: env.RETENTION_DAYS,
    sweepEveryMs: env.RECONCILE_EVERY_MS,
  };
}

/** The process-wide services with the monitor settings (route handlers). */
export function getMonitorServices(): MonitorServices {
  return { ...getCheckServices(), monitors: monitorSettingsFromEnv(getEnv()) };
}
