/**
 * Retrying writes that must not be lost (a check's events, above all its terminal one) while
 * PostgreSQL is unreachable: with a growing, jittered backoff, until it works, the deadline passes
 * or the signal aborts. Errors that are not about reaching the database (a missing row, a bad
 * value) are thrown at once: retrying cannot fix them.
 */
import { pause } from "@/lib/concurrency/server-slots";

export interface RetryOptions {
  /** Give up (throw the last error) once this time (epoch ms) has passed. */
  until: number;
  signal?: AbortSignal;
  /** Called before each pause, with the error and the attempt number (1-based). */
  onRetry?: (error: unknown, attempt: number) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

const DEFAULT_MIN_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * Prisma errors that are the code's fault or the data's, not the connection's. P2024 (no pool
 * connection in time) and P2028 (a transaction that could not start in time, or ran out of time,
 * and was rolled back: the pool was busy) pass, as P2034 (a serialization conflict) does.
 */
const PERMANENT_PRISMA_CODES = /^P20(0[0-9]|1[0-9]|2[0-35-79]|3[0-35-9])$/;

export function isPermanentDatabaseError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && PERMANENT_PRISMA_CODES.test(code)) return true;
  const name = (e as { name?: unknown } | null)?.name;
  return name === "PrismaClientValidationError" || name === "ZodError" || name === "UnrecoverableError";
}

export async function retryWhileDown<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  let delay = options.minDelayMs ?? DEFAULT_MIN_DELAY_MS;
  const maxDelay = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const left = options.until - Date.now();
      if (isPermanentDatabaseError(e) || left <= 0 || options.signal?.aborted) throw e;
      options.onRetry?.(e, attempt);
      await pause(Math.min(left, delay * (0.5 + Math.random() / 2)), options.signal);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
