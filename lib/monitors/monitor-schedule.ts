/**
 * When a monitor runs: the arithmetic of its schedule, apart from BullMQ and the database.
 *
 * - Phase with jitter: a monitor's runs fall at `offset + n·interval` (BullMQ's `every` with
 *   `offset`). The offset is drawn once, when the interval is set, as "the moment of creation
 *   minus up to a tenth of the interval (at most 15 minutes)": monitors created together (a script
 *   adding a hundred) spread out instead of probing at the same second, the first scheduled run
 *   comes about one interval after the first check (which runs at once), and a scheduler
 *   re-created after a Redis wipe keeps the same times instead of running everything at once.
 * - Back-off: a target that keeps failing (unreachable, or the check failed) is checked less often:
 *   from the second failure in a row, the next check waits 2, 4, then 8 intervals (at most a
 *   week, never less than one interval); one answer ends it.
 */

/** The jitter is at most this fraction of the interval... */
export const JITTER_FRACTION = 0.1;
/** ...and at most this long. */
export const MAX_JITTER_MS = 15 * 60_000;
/** Failures in a row from which a monitor backs off. */
export const BACKOFF_AFTER_FAILURES = 2;
/** The longest back-off, in intervals and in time. */
export const MAX_BACKOFF_FACTOR = 8;
export const MAX_BACKOFF_MS = 7 * 86_400_000;
/** A due run is skipped when the last one started less than this fraction of the interval ago. */
export const MIN_GAP_FRACTION = 0.5;

/** The schedule's offset within the interval, for an interval set at `anchorMs`. Never 0: BullMQ reads 0 as "no offset" and runs at once. */
export function scheduleOffsetMs(intervalMs: number, anchorMs: number, random: () => number = Math.random): number {
  const jitter = Math.floor(random() * Math.min(intervalMs * JITTER_FRACTION, MAX_JITTER_MS));
  const offset = (((anchorMs - jitter) % intervalMs) + intervalMs) % intervalMs;
  return offset === 0 ? 1 : offset;
}

/** The first run time after `afterMs` (exclusive) on the schedule `offset + n·interval`. */
export function nextSlotMs(intervalMs: number, offsetMs: number, afterMs: number): number {
  const slot = Math.floor(afterMs / intervalMs) * intervalMs + offsetMs;
  return slot > afterMs ? slot : slot + intervalMs;
}

/** How long after a failed check the next one may run; null when the monitor does not back off. */
export function backoffDelayMs(intervalMs: number, failures: number): number | null {
  if (failures < BACKOFF_AFTER_FAILURES) return null;
  const factor = Math.min(2 ** (failures - 1), MAX_BACKOFF_FACTOR);
  return Math.max(intervalMs, Math.min(intervalMs * factor, MAX_BACKOFF_MS));
}

/** When the next check is due: the next slot, or the first slot at or after the back-off's end. */
export function nextRunMs(intervalMs: number, offsetMs: number, nowMs: number, backoffUntilMs: number | null): number {
  const next = nextSlotMs(intervalMs, offsetMs, nowMs);
  if (backoffUntilMs === null || backoffUntilMs <= next) return next;
  return nextSlotMs(intervalMs, offsetMs, backoffUntilMs - 1);
}
