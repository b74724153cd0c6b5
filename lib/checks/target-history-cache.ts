/**
 * The latest checks of a target (listChecksForTarget), kept by each web process for a few
 * seconds for the report page: its report comes from memory (./report-cache.ts), and without
 * this every view would still read the target's history from the database.
 *
 * Bounds:
 * - staleness: a list is served for `ttlMs` after it was read (HISTORY_CACHE_TTL_SECONDS, 5 s by
 *   default), then read again; so a new check of the target, or a listed check that finished,
 *   shows on the target's other reports within that. A list that should name the report being
 *   shown and does not (the report is newer than the list's oldest check, or the list is not
 *   full) is read again at once: a report that has just finished always lists itself. A live
 *   report reads the list anew on every view (and refreshes what is kept).
 * - memory: at most `maxTargets` lists (least recently used out first), each at most
 *   HISTORY_LIMIT checks.
 *
 * Concurrent views of one target while its list is being read wait for that one read.
 */
import { getEnv } from "@/lib/env";
import { HISTORY_LIMIT, listChecksForTarget } from "./list-checks-for-target";
import type { CheckHistoryItem } from "./types";

export interface TargetHistoryCacheOptions {
  /** How long a list is served after it was read; 0 keeps none. */
  ttlMs: number;
  maxTargets: number;
  now?: () => number;
}

interface Entry {
  items: Promise<CheckHistoryItem[]>;
  expiresAt: number;
}

/** The check a report page shows: its history must list it. */
export interface ShownCheck {
  id: string;
  createdAt: string;
}

/** Whether `items` lacks `shown` although a list read now would have it. */
function misses(items: CheckHistoryItem[], shown: ShownCheck): boolean {
  if (items.some((h) => h.id === shown.id)) return false;
  const oldest = items.at(-1);
  return items.length < HISTORY_LIMIT || !oldest || shown.createdAt >= oldest.createdAt;
}

export class TargetHistoryCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(
    private readonly options: TargetHistoryCacheOptions,
    private readonly load: (target: string) => Promise<CheckHistoryItem[]> = listChecksForTarget,
  ) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The target's history for a page showing `shown`: the kept list while it is fresh and names
   * `shown`, else a list read now (and kept). `fresh` reads it now in any case.
   */
  async read(target: string, shown: ShownCheck, options: { fresh?: boolean } = {}): Promise<CheckHistoryItem[]> {
    const entry = options.fresh ? undefined : this.fresh(target);
    if (entry) {
      const items = await entry.items;
      if (!misses(items, shown)) return items;
      // Another view read it again meanwhile: that list is newer than this one.
      const current = this.entries.get(target);
      if (current && current !== entry) return current.items;
    }
    return this.refresh(target);
  }

  private fresh(target: string): Entry | undefined {
    const entry = this.entries.get(target);
    if (!entry) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.entries.delete(target);
      return undefined;
    }
    // Map keeps insertion order: re-inserting makes it the most recently used.
    this.entries.delete(target);
    this.entries.set(target, entry);
    return entry;
  }

  private refresh(target: string): Promise<CheckHistoryItem[]> {
    const items = this.load(target);
    if (this.options.ttlMs <= 0) return items;
    const entry: Entry = { items, expiresAt: this.now() + this.options.ttlMs };
    this.entries.delete(target);
    this.entries.set(target, entry);
    // A failed read is not kept: the next view tries again.
    items.catch(() => {
      if (this.entries.get(target) === entry) this.entries.delete(target);
    });
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.options.maxTargets) break;
      this.entries.delete(oldest);
    }
    return items;
  }
}

/** Lists kept at most (each at most HISTORY_LIMIT checks of ~200 bytes: at most ~10 MB). */
const MAX_TARGETS = 1000;

// One per process, on globalThis: Next may load this module once per route.
const holder = globalThis as typeof globalThis & { __relaycheckHistoryCache?: TargetHistoryCache };

/** The process-wide cache (HISTORY_CACHE_TTL_SECONDS). */
export function getTargetHistoryCache(): TargetHistoryCache {
  holder.__relaycheckHistoryCache ??= new TargetHistoryCache({ ttlMs: getEnv().HISTORY_CACHE_TTL_SECONDS * 1000, maxTargets: MAX_TARGETS });
  return holder.__relaycheckHistoryCache;
}
