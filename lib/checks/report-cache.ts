/**
 * Finished reports, kept in memory by each web process. A check whose status is terminal
 * (`isTerminalStatus`: done, failed) never changes again, so its view, the JSON body of
 * GET /api/v1/checks/<id> (also gzip-compressed) and the report page's static HTML are made
 * once and then served from here; a check that is queued, running or waiting is read from the
 * database on every request and never stored.
 *
 * Bounds:
 * - memory: entries are evicted least recently used first once their estimated size
 *   (`entryBytes`) passes `maxBytes`; one entry larger than the whole budget is not kept;
 * - staleness: an entry is served for `ttlMs` after it was read from the database, then read
 *   again. A finished report changes only when it is deleted or when retention removes its
 *   transcript (worker/purge-expired.ts), and web processes hear of neither: `ttlMs` is how long
 *   a process may still show what was removed (REPORT_CACHE_TTL_SECONDS).
 *
 * Relies on the writer committing a terminal status no earlier than the rows of the report
 * (lib/checks/record-check-event.ts writes both in one transaction), and on getCheck reading
 * the check's row before its servers and cases.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { withAdvice } from "@/lib/advice";
import { getEnv } from "@/lib/env";
import { getCheck } from "./get-check";
import { isTerminalStatus } from "./record-check-event";
import type { CheckView } from "./types";

export interface FinishedReport {
  /** The check as getCheck returned it (status terminal). */
  view: CheckView;
  /** GET /api/v1/checks/<id>'s body: the view with its advice (AdvisedCheckView), serialized. */
  body: string;
  /** `body` gzip-compressed once, for the clients that accept it (most do). */
  gzipped: Buffer;
  /** Strong validator of `body` (quoted, as the ETag header carries it). */
  etag: string;
  /** More renderings of the same report kept with it (the page's static HTML), by name. */
  renderings: Map<string, string>;
}

export interface ReportCacheOptions {
  /** Estimated memory all entries may take together. */
  maxBytes: number;
  /** How long an entry is served before it is read from the database again; 0 keeps none. */
  ttlMs: number;
  now?: () => number;
}

interface Entry {
  report: FinishedReport;
  bytes: number;
  expiresAt: number;
}

/**
 * An entry's estimated heap size: its strings at two bytes a character (V8 keeps most of them at
 * one, transcripts with other characters at two), the view's object graph counted as large as
 * its JSON again (objects and arrays of short strings cost about that much), and the gzip bytes.
 */
export function entryBytes(report: FinishedReport): number {
  let chars = report.body.length * 2 + report.etag.length;
  for (const [name, text] of report.renderings) chars += name.length + text.length;
  return chars * 2 + report.gzipped.length;
}

/** A byte-bounded, least-recently-used map of finished reports with a time to live. */
export class ReportCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private readonly now: () => number;

  constructor(private readonly options: ReportCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Estimated memory of all entries. */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The finished report of `id` if it is held and still fresh (and marks it recently used). */
  get(id: string): FinishedReport | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.remove(id);
      return undefined;
    }
    // Map keeps insertion order: re-inserting makes it the most recently used.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.report;
  }

  /** Keeps a finished report (a view whose status is not terminal is refused). */
  set(id: string, report: FinishedReport): void {
    if (!isTerminalStatus(report.view.status)) throw new Error(`check ${id} is ${report.view.status}: only finished reports are cached`);
    this.remove(id);
    if (this.options.ttlMs <= 0) return;
    this.insert(id, { report, bytes: entryBytes(report), expiresAt: this.now() + this.options.ttlMs });
  }

  /**
   * Adds a rendering to a held report (the same object `get` returned), counting its size; a
   * report no longer held (evicted, expired) just keeps it on the object the caller has.
   */
  addRendering(id: string, report: FinishedReport, name: string, text: string): void {
    report.renderings.set(name, text);
    const entry = this.entries.get(id);
    if (!entry || entry.report !== report) return;
    this.remove(id);
    this.insert(id, { ...entry, bytes: entryBytes(report) });
  }

  delete(id: string): void {
    this.remove(id);
  }

  private insert(id: string, entry: Entry): void {
    if (entry.bytes > this.options.maxBytes) return;
    this.entries.set(id, entry);
    this.total += entry.bytes;
    for (const [oldest] of this.entries) {
      if (this.total <= this.options.maxBytes) break;
      this.remove(oldest);
    }
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.total -= entry.bytes;
  }
}

/** A finished report made from a view (the JSON body, compressed too, and its ETag). */
export function finishedReportOf(view: CheckView): FinishedReport {
  const body = JSON.stringify(withAdvice(view));
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  return { view, body, gzipped: gzipSync(body), etag, renderings: new Map() };
}

export type CheckRead = { finished: FinishedReport; live?: undefined } | { live: CheckView; finished?: undefined };

/**
 * A check as the API and the page read it: its finished report (from the cache, or read and
 * then cached) or, while it is queued, running or waiting, its view read now. Null when there is
 * no such check.
 */
export async function readCheck(
  id: string,
  options: { cache?: ReportCache; load?: (id: string) => Promise<CheckView | null> } = {},
): Promise<CheckRead | null> {
  const cache = options.cache ?? getReportCache();
  const held = cache.get(id);
  if (held) return { finished: held };
  const view = await (options.load ?? getCheck)(id);
  if (!view) return null;
  if (!isTerminalStatus(view.status)) return { live: view };
  const report = finishedReportOf(view);
  cache.set(id, report);
  return { finished: report };
}

// One per process, on globalThis: Next may load this module once per route.
const holder = globalThis as typeof globalThis & { __relaycheckReportCache?: ReportCache };

/** The process-wide cache (REPORT_CACHE_TTL_SECONDS, REPORT_CACHE_MAX_MB). */
export function getReportCache(): ReportCache {
  if (!holder.__relaycheckReportCache) {
    const env = getEnv();
    holder.__relaycheckReportCache = new ReportCache({ maxBytes: env.REPORT_CACHE_MAX_MB * 1024 * 1024, ttlMs: env.REPORT_CACHE_TTL_SECONDS * 1000 });
  }
  return holder.__relaycheckReportCache;
}
