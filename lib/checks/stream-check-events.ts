/**
 * The events of one check for a viewer, each exactly once, in order, after `afterSeq`: first
 * what PostgreSQL holds (read once on connect, shared by viewers who connect together), then
 * live from the Redis stream through the process's one reader (lib/events/live-fan-out.ts).
 * Ends after `done` or `failed`, at the stream's maximum lifetime, or when the viewer falls too
 * far behind; the browser's EventSource then resumes with Last-Event-ID.
 *
 * PostgreSQL is the record, Redis the channel (lib/checks/record-check-event.ts writes them in
 * that order, with stream ids equal to the event numbers): gaps in the stream (trimmed entries,
 * a write that never reached Redis) are filled from PostgreSQL, and one status read per check
 * per process every SSE_STATUS_POLL_MS ends the streams of a check whose terminal event reached
 * PostgreSQL only. Keep-alives cost no database work.
 */
import type { Db } from "@/lib/db/create-db";
import { AppError } from "@/lib/errors";
import { checkStreamKey } from "@/lib/events/check-stream";
import { createLiveFanOut, type LiveBatch, type LiveEntry, type LiveFanOut, type LiveSource } from "@/lib/events/live-fan-out";
import { createOpenStreamLimits, type OpenStreamLimits } from "@/lib/events/limit-open-streams";
import { getCheckServices, type CheckServices } from "./services";
import { hasStoredEnd, loadStoredEvents, TERMINAL_EVENTS, type NumberedEvent } from "./load-stored-events";
import { failureOf, reportOf } from "./build-check-view";

export type { LiveBatch, LiveEntry };

/** Seconds a refused client is told to wait: streams free up as viewers leave or streams end. */
const CLIENT_CAP_RETRY_AFTER_SECONDS = 10;
const PROCESS_CAP_RETRY_AFTER_SECONDS = 5;
/** Each stream ends between 90 % and 100 % of the lifetime, so that a crowd reconnects spread out. */
const LIFETIME_JITTER = 0.1;

export interface CheckEventStream {
  /** The check has ended and the viewer has every event: nothing to stream. */
  readonly complete: boolean;
  /**
   * The next events; none and no end means a keep-alive is due. After an end (or a terminal
   * event) there is nothing more.
   */
  next(): Promise<LiveBatch>;
  /** Resolves when the stream has ended (terminal event, lifetime, too slow…), taken or not. */
  readonly ended: Promise<unknown>;
  /** Idempotent; frees the viewer's place in the caps. */
  close(): void;
}

export interface OpenCheckEventsOptions {
  /** Last-Event-ID: the viewer has every event up to this one (0: none). */
  afterSeq: number;
  /** The rate limiter's bucket of the viewer (API key or hashed address): the per-client cap. */
  client: string;
}

/** The process's live-event machinery: one Redis reader and the stream caps. */
export interface LiveEvents {
  fanOut: LiveFanOut;
  limits: OpenStreamLimits;
}

/**
 * Opens a viewer's stream of a check; null when there is no such check. Throws an AppError
 * (429, 503) when a cap is reached.
 */
export async function openCheckEvents(
  checkId: string,
  options: OpenCheckEventsOptions,
  services: CheckServices = getCheckServices(),
  live: LiveEvents = getLiveEvents(services),
): Promise<CheckEventStream | null> {
  const lease = live.limits.acquire(options.client);
  if (lease === "client-cap") {
    throw new AppError(
      "rate_limited",
      `Too many open event streams from this client (at most ${services.settings.sseMaxStreamsPerClient}). Close one, then retry.`,
      { "Retry-After": String(CLIENT_CAP_RETRY_AFTER_SECONDS) },
    );
  }
  if (lease === "process-cap") {
    throw new AppError("unavailable", "The server has too many open event streams. Please retry shortly.", { "Retry-After": String(PROCESS_CAP_RETRY_AFTER_SECONDS) });
  }
  let subscription;
  try {
    const lifetime = services.settings.sseMaxLifetimeMs * (1 - Math.random() * LIFETIME_JITTER);
    subscription = await live.fanOut.subscribe(checkId, { afterSeq: options.afterSeq, deadline: Date.now() + lifetime });
  } catch (e) {
    lease.release();
    throw e;
  }
  if (!subscription) {
    lease.release();
    return null;
  }
  const sub = subscription;
  return {
    complete: sub.complete,
    next: () => sub.take(),
    ended: sub.ended,
    close() {
      sub.close();
      lease.release();
    },
  };
}

// Kept on globalThis, like the services, so that module reloads in development share one reader.
const holder = globalThis as typeof globalThis & { __relaycheckLiveEvents?: LiveEvents };

/** The process-wide live events, built on first use from the process's services. */
export function getLiveEvents(services: CheckServices = getCheckServices()): LiveEvents {
  holder.__relaycheckLiveEvents ??= createLiveEvents(services);
  return holder.__relaycheckLiveEvents;
}

export function createLiveEvents(services: CheckServices): LiveEvents {
  const { settings, log } = services;
  return {
    fanOut: createLiveFanOut({
      redis: services.redis,
      readerName: `relaycheck-sse:${settings.redisPrefix}`,
      keyOf: (checkId) => checkStreamKey(settings.redisPrefix, checkId),
      source: checkEventSource(services.db),
      isTerminal: (entry) => entry.type === "done" || entry.type === "failed",
      statusPollMs: settings.sseStatusPollMs,
      idleMs: settings.keepAliveMs,
      onError: (err, { topic, what }) => log.warn({ err, checkId: topic }, `live events: ${what} failed`),
    }),
    limits: createOpenStreamLimits({ perClient: settings.sseMaxStreamsPerClient, total: settings.sseMaxStreams }),
  };
}

/** A check's events in PostgreSQL, as the fan-out reads them. */
export function checkEventSource(db: Db): LiveSource {
  return {
    async head(checkId) {
      const check = await db.check.findUnique({ where: { id: checkId }, select: { status: true, lastSeq: true } });
      return check ? { lastSeq: check.lastSeq, ended: isFinished(check.status) } : null;
    },
    async read(checkId, afterSeq, upToSeq) {
      const check = await db.check.findUnique({ where: { id: checkId } });
      if (!check) return [];
      // Events are written in the same transaction as lastSeq (and as the final status): reading
      // up to it gets every event numbered so far, and the terminal one of a finished check.
      const until = Math.min(upToSeq ?? check.lastSeq, check.lastSeq);
      const events: NumberedEvent[] = [];
      let last = afterSeq;
      while (last < until) {
        const page = await loadStoredEvents(db, checkId, last, until);
        if (page.length === 0) break;
        events.push(...page);
        last = page.at(-1)!.seq;
      }
      if (upToSeq === undefined && isFinished(check.status) && !events.some((e) => TERMINAL_EVENTS.has(e.event.type))) {
        const ending = await missingEnd(db, check, afterSeq);
        if (ending) events.push(ending);
      }
      return events.map(entryOf);
    },
  };
}

function isFinished(status: string): boolean {
  return status === "done" || status === "failed";
}

function entryOf({ seq, event }: NumberedEvent): LiveEntry {
  return { seq, type: event.type, data: JSON.stringify(event) };
}

type CheckRow = NonNullable<Awaited<ReturnType<Db["check"]["findUnique"]>>>;

/**
 * For a finished check whose terminal event is not after `afterSeq`: null when the viewer has
 * it already; else a `done` (or `failed`) rebuilt from the report rows, numbered lastSeq + 1
 * (retention deleted the events, or the check was ended without one).
 */
async function missingEnd(db: Db, check: CheckRow, afterSeq: number): Promise<NumberedEvent | null> {
  if (afterSeq > check.lastSeq) return null; // it has the rebuilt one
  if (await hasStoredEnd(db, check.id)) return null; // at or before afterSeq, since the read after it found none
  const seq = check.lastSeq + 1;
  if (check.status === "failed") {
    return { seq, event: { type: "failed", t: 0, error: failureOf(check) ?? { code: "internal", message: "" } } };
  }
  const [servers, cases] = await Promise.all([db.checkServer.findMany({ where: { checkId: check.id } }), db.checkCase.findMany({ where: { checkId: check.id } })]);
  return { seq, event: { type: "done", t: check.durationMs ?? 0, report: reportOf(check, servers, cases) } };
}
