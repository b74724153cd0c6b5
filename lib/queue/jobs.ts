/**
 * The job catalogue: each job is a name and a zod payload schema. Handlers live in worker/
 * (worker/run-check.ts, worker/purge-expired.ts); producers (lib/checks) only need this file.
 */
import { z } from "zod";
import { CHECK_ID_PATTERN } from "@/lib/checks/check-id";
import { WAIT_REASONS } from "@/lib/checks/types";

export const runCheckJob = {
  name: "run-check",
  payload: z.object({ checkId: z.string().regex(CHECK_ID_PATTERN) }).strict(),
} as const;

/**
 * Delayed: the follow-up of a waiting check (lib/checks/wait-check.ts), due at the wait's `until`;
 * job id `resume-<reason>-<round>-<checkId>`.
 */
export const resumeCheckJob = {
  name: "resume-check",
  payload: z
    .object({ checkId: z.string().regex(CHECK_ID_PATTERN), reason: z.enum(WAIT_REASONS), round: z.number().int().min(1).max(100) })
    .strict(),
} as const;

/** Periodic: forgets client IP hashes after the rate-limit window, deletes old transcripts. */
export const purgeExpiredJob = {
  name: "purge-expired",
  payload: z.object({}).strict(),
  everyMs: 10 * 60_000,
} as const;

/**
 * Periodic: ends or re-enqueues checks that PostgreSQL says are queued or running but whose job
 * vanished (Redis lost its data, a job failed without its final write) or whose deadline passed.
 */
export const reconcileChecksJob = {
  name: "reconcile-checks",
  payload: z.object({}).strict(),
} as const;

/** Scheduled, one job scheduler per monitor (`monitor:<id>`): starts the monitor's next check. */
export const runMonitorJob = {
  name: "run-monitor",
  payload: z.object({ monitorId: z.string().regex(CHECK_ID_PATTERN) }).strict(),
} as const;

/** One alert to one channel (webhook, email), retried with backoff (job id `alert-<id>`). */
export const deliverAlertJob = {
  name: "deliver-alert",
  payload: z.object({ deliveryId: z.string().regex(CHECK_ID_PATTERN) }).strict(),
} as const;

/**
 * Periodic: the monitors' safety net. Settles runs whose check ended without the worker's own
 * settling (a crash, the reconciler ended it), re-enqueues alerts whose job was lost, prunes old
 * runs and deliveries.
 */
export const sweepMonitorsJob = {
  name: "sweep-monitors",
  payload: z.object({}).strict(),
} as const;

export type RunCheckPayload = z.infer<typeof runCheckJob.payload>;
export type ResumeCheckPayload = z.infer<typeof resumeCheckJob.payload>;
export type JobName =
  | typeof runCheckJob.name
  | typeof resumeCheckJob.name
  | typeof purgeExpiredJob.name
  | typeof reconcileChecksJob.name
  | typeof runMonitorJob.name
  | typeof deliverAlertJob.name
  | typeof sweepMonitorsJob.name;
