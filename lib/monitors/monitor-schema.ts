/**
 * The monitors API as zod schemas: what the handlers parse requests with, what they answer with,
 * what a webhook receives, and what the delivery log stores (parsed on read). The OpenAPI
 * document's monitor schemas are generated from these (app/api/_lib/openapi-document.ts).
 */
import { z } from "zod";
import { checkDiffSchema } from "@/lib/checks/diff-checks";
import { checkStatusSchema, verdictSchema as verdict } from "@/lib/checks/report-schema";

export const MONITOR_STATES = ["active", "backing-off"] as const;
export type MonitorState = (typeof MONITOR_STATES)[number];

export const ALERT_CHANNELS = ["webhook", "email"] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

export const ALERT_KINDS = ["change", "test"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The shortest interval: an hour (tests lower it: RELAYCHECK_TEST_MONITOR_MIN_INTERVAL_SECONDS). */
export const MIN_INTERVAL_SECONDS = 3600;
/** The default interval: a day. */
export const DEFAULT_INTERVAL_SECONDS = 86_400;
/** The longest interval: thirty days. */
export const MAX_INTERVAL_SECONDS = 30 * 86_400;

export const MONITOR_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

const isoTime = () => z.string().meta({ format: "date-time" });

const webhookUrl = z
  .url({ protocol: /^https?$/, error: "notify.webhook must be an http:// or https:// URL" })
  .max(2048)
  .meta({ description: "Gets a signed JSON POST on every change (see the `monitorChanged` webhook)." });
const email = z.email({ error: "notify.email must be an email address" }).max(254).meta({ description: "Gets an email on every change (when the service has an SMTP relay)." });

const ports = z.array(z.int().min(1).max(65535)).min(1).max(3).meta({ description: "SMTP ports to test (default [25]); 25, 465 and 587." });
const interval = z
  .int()
  .min(1)
  .max(MAX_INTERVAL_SECONDS)
  .meta({ description: `Seconds between checks (default ${DEFAULT_INTERVAL_SECONDS}); at least the service's minimum (an hour), at most 30 days. Each monitor's runs are spread with jitter.` });

export const createMonitorInput = z
  .object({
    target: z.string().min(1, "target is required").max(1024, "target is too long").meta({ description: "A domain, a host name, or an IPv4/IPv6 address.", examples: ["mail.example.com"] }),
    ports: ports.optional(),
    interval: interval.optional(),
    notify: z.object({ webhook: webhookUrl.optional(), email: email.optional() }).strict().optional(),
  })
  .strict();
export type CreateMonitorInput = z.infer<typeof createMonitorInput>;

export const updateMonitorInput = z
  .object({
    ports: ports.optional(),
    interval: interval.optional(),
    notify: z
      .object({ webhook: webhookUrl.nullable().optional(), email: email.nullable().optional() })
      .strict()
      .optional()
      .meta({ description: "A channel given replaces the old one; `null` removes it; one left out stays." }),
  })
  .strict();
export type UpdateMonitorInput = z.infer<typeof updateMonitorInput>;

const checkRefSchema = z.object({
  id: z.string(),
  url: z.string().meta({ description: "The report's permalink path." }),
  status: checkStatusSchema,
  verdict: verdict.nullable(),
  createdAt: isoTime(),
});

export const monitorRunSchema = z.object({
  checkId: z.string(),
  url: z.string(),
  createdAt: isoTime(),
  settledAt: isoTime().nullable().meta({ description: "When the check had ended and was compared with the one before." }),
  verdict: verdict.nullable(),
  changed: z.boolean().meta({ description: "Whether this check changed something and raised an alert." }),
});

export const monitorViewSchema = z.object({
  id: z.string().regex(MONITOR_ID_PATTERN),
  target: z.string().meta({ description: "The normalised target." }),
  input: z.string().meta({ description: "The target as given." }),
  ports: z.array(z.int()),
  interval: z.int().meta({ description: "Seconds between checks." }),
  notify: z.object({ webhook: z.string().nullable(), email: z.string().nullable() }),
  webhookSecret: z.string().meta({ description: "Key of the webhook's HMAC-SHA256 signature (`X-Relaycheck-Signature`)." }),
  state: z.enum(MONITOR_STATES),
  stateReason: z.string().nullable().meta({ description: "Why the monitor is backing off, for people." }),
  consecutiveFailures: z.int().min(0).meta({ description: "Checks in a row whose target was unreachable or that failed." }),
  backoffUntil: isoTime().nullable(),
  nextRunAt: isoTime().meta({ description: "When the next check is due (later while backing off)." }),
  lastCheck: checkRefSchema.nullable().meta({ description: "The latest check this monitor started (it may still run)." }),
  lastVerdict: verdict.nullable(),
  lastCheckedAt: isoTime().nullable(),
  lastChangedAt: isoTime().nullable(),
  lastError: z.string().nullable().meta({ description: "Why the last due check could not start (a rate limit, a refused target)." }),
  createdAt: isoTime(),
  updatedAt: isoTime(),
  recentRuns: z.array(monitorRunSchema).meta({ description: "The latest checks of this monitor, newest first." }),
  links: z.object({ self: z.string(), badge: z.string(), deliveries: z.string() }),
});
export type MonitorView = z.infer<typeof monitorViewSchema>;

export const monitorListSchema = z.object({ monitors: z.array(monitorViewSchema) });

/** One try of a delivery, as the log keeps it. */
export const deliveryAttemptSchema = z.object({
  at: isoTime(),
  ok: z.boolean(),
  statusCode: z.int().nullable().meta({ description: "The webhook's HTTP status (null for email or when none came)." }),
  error: z.string().nullable(),
  ms: z.number(),
});
export type DeliveryAttempt = z.infer<typeof deliveryAttemptSchema>;

export const deliveryViewSchema = z.object({
  id: z.string(),
  kind: z.enum(ALERT_KINDS),
  channel: z.enum(ALERT_CHANNELS),
  destination: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  checkId: z.string().nullable(),
  attempts: z.array(deliveryAttemptSchema),
  createdAt: isoTime(),
  finishedAt: isoTime().nullable(),
});
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

export const deliveryListSchema = z.object({ deliveries: z.array(deliveryViewSchema) });

const alertCheckSchema = z.object({
  id: z.string(),
  url: z.string().meta({ description: "The report's absolute address." }),
  verdict: verdict.nullable(),
  finishedAt: isoTime().nullable(),
});

export const ALERT_EVENTS = ["monitor.changed", "monitor.test"] as const;

/** The body of a webhook (and what an email says in words). */
export const alertPayloadSchema = z.object({
  type: z.enum(ALERT_EVENTS),
  deliveryId: z.string().meta({ description: "Also in `X-Relaycheck-Delivery`; the same on every retry." }),
  createdAt: isoTime(),
  monitor: z.object({ id: z.string(), target: z.string(), ports: z.array(z.int()), interval: z.int(), url: z.string() }),
  check: alertCheckSchema.nullable().meta({ description: "The check that changed (a test: the latest one, if any)." }),
  previousCheck: alertCheckSchema.nullable(),
  diff: checkDiffSchema.nullable().meta({ description: "What changed (null for a test)." }),
  summary: z.array(z.string()),
});
export type AlertPayload = z.infer<typeof alertPayloadSchema>;
