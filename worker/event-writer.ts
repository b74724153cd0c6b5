/**
 * Writes a check's events in the order the engine produced them, without holding the engine up:
 * while one batch is being written (one PostgreSQL transaction, one Redis round trip), the next
 * events gather and go together in the following batch. An idle writer writes at once, so a
 * live viewer sees each event as soon as the engine has it.
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

export interface EventWriterOptions {
  /** Epoch ms: past this a write that keeps failing is given up. */
  until: number;
  log: Logger;
}

export class EventWriter {
  private pending: CheckStreamEvent[] = [];
  private writing: Promise<void> | null = null;
  private failure: unknown = null;
  private outage = false;

  constructor(
    private readonly services: Pick<CheckServices, "db" | "redis" | "settings" | "log">,
    private readonly checkId: string,
    private readonly options: EventWriterOptions,
  ) {}

  /** Queues an event; throws the error of an earlier failed write (given up). */
  push(event: CheckStreamEvent): void {
    if (this.failure) throw this.failure;
    this.pending.push(event);
    this.writeNext();
  }

  /** Resolves once everything pushed is written; rejects if a write failed for good. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  private writeNext(): void {
    if (this.writing || this.failure || this.pending.length === 0) return;
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
        this.writeNext();
      },
      (e: unknown) => {
        this.failure = e;
        this.writing = null;
      },
    );
  }
}
