/**
 * Keeps the worker's event loop responsive while WORKER_CONCURRENCY is sized for I/O waits.
 *
 * A check of a slow or tarpitting server costs almost no CPU while it waits, so one worker can
 * hold hundreds of them; a burst of fast checks, though, is CPU work (building reports, storing
 * events through Prisma), and hundreds at once would starve the event loop: late timers, late
 * replies read, job locks renewed late. So the number of checks taken at once follows the loop's
 * delay: every ADAPT_EVERY_MS, a p99 delay above LAG_LIMIT_MS cuts it by a quarter (down to
 * MIN_CONCURRENCY); a delay below half of that raises it by a tenth of the maximum (up to
 * WORKER_CONCURRENCY). Running checks are never stopped: a lower limit only means no new job is
 * taken until enough have finished (BullMQ's `worker.concurrency`).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export const ADAPT_EVERY_MS = 2000;
export const LAG_LIMIT_MS = 300;
export const MIN_CONCURRENCY = 4;

export interface ConcurrencyLimits {
  max: number;
  min: number;
  lagLimitMs: number;
}

/** The next limit after a window whose p99 event-loop delay was `lagMs` (AIMD, inverted: cut fast, grow steady). */
export function nextConcurrency(current: number, lagMs: number, limits: ConcurrencyLimits): number {
  const min = Math.min(limits.min, limits.max);
  if (lagMs > limits.lagLimitMs) return Math.max(min, Math.floor(current * 0.75));
  if (lagMs < limits.lagLimitMs / 2) return Math.min(limits.max, current + Math.max(1, Math.ceil(limits.max / 10)));
  return Math.min(limits.max, Math.max(min, current));
}

/** Adjusts `worker.concurrency` from the event loop's delay; returns a function that stops it. */
export function adaptConcurrency(
  worker: { concurrency: number },
  limits: ConcurrencyLimits,
  onChange?: (change: { from: number; to: number; lagMs: number }) => void,
): () => void {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const timer = setInterval(() => {
    // Nanoseconds; minus the sampling resolution, which the histogram counts as delay.
    const lagMs = Math.max(0, delay.percentile(99) / 1e6 - 20);
    delay.reset();
    const from = worker.concurrency;
    const to = nextConcurrency(from, lagMs, limits);
    if (to === from) return;
    worker.concurrency = to;
    onChange?.({ from, to, lagMs: Math.round(lagMs) });
  }, ADAPT_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
