/**
 * Writes a check's events in the order the engine produced them, without holding the engine up:
 * while one batch is being written (one PostgreSQL transaction, one Redis round trip), the next
 * events gather and go together in the following batch. An idle writer writes at once, so a
 * live viewer sees each event as soon as the engine has it.
 */
import { recordCheckEvents } from "@/lib/checks/record-check-event";
import type { CheckServices } from "@/lib/checks/services";
import type { CheckStreamEvent } from "@/lib/checks/types";

const MAX_BATCH = 200;

export class EventWriter {
  private pending: CheckStreamEvent[] = [];
  private writing: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(
    private readonly services: Pick<CheckServices, "db" | "redis" | "settings">,
    private readonly checkId: string,
  ) {}

  /** Queues an event; throws the error of an earlier failed write (PostgreSQL or Redis down). */
  push(event: CheckStreamEvent): void {
    if (this.failure) throw this.failure;
    this.pending.push(event);
    this.writeNext();
  }

  /** Resolves once everything pushed is written; rejects if a write failed. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  private writeNext(): void {
    if (this.writing || this.failure || this.pending.length === 0) return;
    const batch = this.pending.splice(0, MAX_BATCH);
    this.writing = recordCheckEvents(this.services, this.checkId, batch).then(
      () => {
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
