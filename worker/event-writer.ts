/**
 * Writes a check's events in the order the engine produced them, without holding the engine up:
 * while one batch is being written (one PostgreSQL statement, one Redis round trip), the next
 * events gather and go together in the following batch. A batch gathers for up to GATHER_MS
 * from its first event, the first batch of a check too (a fast server's whole conversation then
 * goes in two or three batches instead of dozens: less CPU per check, and fewer, better
 * compressed event rows), so a live viewer sees an event at most that much later. A terminal or
 * waiting event, and `drain`, write at once.
 *
 * PostgreSQL down: a batch is retried with backoff until `until` (the check's deadline), the
 * events meanwhile gathering in memory (bounded by the engine's transcript caps); only then, or
 * on an error retrying cannot fix, does the writer fail. Redis down costs nothing here: the live
 * append is best-effort and viewers read PostgreSQL (lib/checks/record-check-event.ts).
 */
import { recordCheckEvents } from "@/lib/checks/record-check-event";
import { retryWhileDown } from "@/lib/checks/retry-while-down";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckStreamEvent } from "@/lib/checks/types";
import type { Logger } from "@/lib/logger";

const MAX_BATCH = 200;
/** How long the next batch may gather after a write (live viewers see events at most this late). */
export const GATHER_MS = 25;
const WRITE_AT_ONCE: ReadonlySet<CheckStreamEvent["type"]> = new Set(["done", "failed", "waiting"]);

export interface EventWriterOptions {
  /** Epoch ms: past this a write that keeps failing is given up. */
  until: number;
  log: Logger;
  /** Default GATHER_MS. */
  gatherMs?: number;
}

export class EventWriter {
  private pending: CheckStreamEvent[] = [];
  private writing: Promise<void> | null = null;
  private failure: unknown = null;
  private outage = false;
  private gathering: NodeJS.Timeout | null = null;
  /** A flush asked for: what is pending goes without gathering. */
  private urgent = false;

  constructor(
    private readonly services: Pick<CheckServices, "db" | "redis" | "settings" | "log">,
    private readonly checkId: string,
    private readonly options: EventWriterOptions,
  ) {}

  /** Queues an event; throws the error of an earlier failed write (given up). */
  push(event: CheckStreamEvent): void {
    if (this.failure) throw this.failure;
    this.pending.push(event);
    if (WRITE_AT_ONCE.has(event.type)) this.flush();
    else if (!this.writing && !this.gathering) this.gatherNext();
  }

  /** Resolves once everything pushed is written; rejects if a write failed for good. */
  async drain(): Promise<void> {
    this.flush();
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  /** Ends the gathering: the pending events go now (or right after the write under way). */
  private flush(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    this.urgent = true;
    this.writeNext();
  }

  private writeNext(): void {
    if (this.writing || this.gathering || this.failure || this.pending.length === 0) return;
    const batch = this.pending.splice(0, MAX_BATCH);
    const { log } = this.options;
    const write = () => recordCheckEvents(this.services, this.checkId, batch);
    this.writing = retryWhileDown(write, {
      until: this.options.until,
      onRetry: (err, attempt) => {
        if (!this.outage) log.warn({ err, attempt, events: batch.length }, "storing events failed; retrying until the database is back");
        this.outage = true;
      },
    }).then(
      () => {
        if (this.outage) log.info("storing events works again");
        this.outage = false;
        this.writing = null;
        this.gatherNext();
      },
      (e: unknown) => {
        this.failure = e;
        this.writing = null;
      },
    );
  }

  /** The next batch gathers for a while (after a write, or from an idle writer's first event), unless a flush comes first. */
  private gatherNext(): void {
    const gatherMs = this.options.gatherMs ?? GATHER_MS;
    if (this.pending.length === 0) this.urgent = false;
    if (this.urgent || gatherMs <= 0) return this.writeNext();
    this.gathering = setTimeout(() => {
      this.gathering = null;
      this.writeNext();
    }, gatherMs);
  }
}
