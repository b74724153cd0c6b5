/**
 * The job catalogue: each job is a name and a zod payload schema. Handlers live in worker/
 * (worker/run-check.ts, worker/purge-expired.ts); producers (lib/checks) only need this file.
 */
import { z } from "zod";
import { CHECK_ID_PATTERN } from "@/lib/checks/check-id";

export const runCheckJob = {
  name: "run-check",
  payload: z.object({ checkId: z.string().regex(CHECK_ID_PATTERN) }).strict(),
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

export type RunCheckPayload = z.infer<typeof runCheckJob.payload>;
export type JobName = typeof runCheckJob.name | typeof purgeExpiredJob.name | typeof reconcileChecksJob.name;
