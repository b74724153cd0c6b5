/**
 * The schedule of one server's cases over its SMTP sessions: the queue of cases, the cases
 * reserved by sessions being opened, how many sessions run at once, what an open session does
 * next, what becomes of a case whose session died, and what to do after a refused connection.
 *
 * It owns no socket and no timer: the probe asks it what to do next and tells it what happened.
 * Time comes from `now()`, so its tests run without sockets and without waiting.
 *
 * Lanes are the probe's parallel workers (lane 0 holds the first session); each runs one session
 * at a time. Servers punish errors, so a session takes one batch of at most
 * `maxCasesPerSession` cases minus the errors it already collected.
 */

/** A case in the schedule; `item` is the probe's own payload. */
export interface ScheduledCase<T> {
  item: T;
  /** Sessions that sent the case so far (a dropped session makes another try). */
  attempts: number;
  /**
   * Not to be run before this time (`now()` units), and only by a session opened at or after
   * it: a pause before a retry means a fresh session after the pause.
   */
  notBefore: number;
}

export interface SchedulerLimits {
  /** Sessions open at once (lanes). */
  maxParallel: number;
  /** Cases in one session; each may cost the server one error. */
  maxCasesPerSession: number;
  /** Sessions in all, reconnects and failed attempts included. */
  maxSessions: number;
}

/** A session the scheduler knows of, from the attempt to open it to its end. */
export interface SessionTicket {
  /** Session number within the server, from 1. */
  id: number;
  lane: number;
  /** Cases reserved for this session while it opens (so other lanes do not open for them). */
  claim: number;
  openedAt: number | null;
  batches: number;
}

export type LaneStep = { kind: "open"; ticket: SessionTicket } | { kind: "wait"; until: number | null } | { kind: "stop" };

export type SessionStep<T> =
  | { kind: "find-sender" }
  | { kind: "run"; batch: ScheduledCase<T>[] }
  /** Until something changes (a case handed back, the sender found), or until that time. */
  | { kind: "wait"; until: number | null }
  | { kind: "end" };

/** Why a session could not be opened, as far as the schedule cares. */
export type OpenFailure =
  /** 421 at connect or greeting: too many connections. */
  | "busy"
  /** The TLS handshake failed: the probe retries at once in plaintext; no failure counted. */
  | "tls-fallback"
  | "other";

export type AfterFailure = { kind: "retry"; afterMs: number } | { kind: "continue" } | { kind: "stop" };

/** A case whose session ended under it goes back to the queue up to this many tries in all. */
export const MAX_ATTEMPTS = 3;
/** Consecutive sessions that fail to open before a lane gives up. */
export const MAX_OPEN_FAILURES = 2;
/** Retries after a 421 "too many connections", with exponential backoff from BUSY_BACKOFF_MS. */
export const MAX_BUSY_RETRIES = 4;
export const BUSY_BACKOFF_MS = 200;

export class CaseScheduler<T> {
  private readonly queue: ScheduledCase<T>[] = [];
  private inFlight = 0;
  private claimed = 0;
  private sessions = 0;
  private parallel: number;
  private openFailures = 0;
  private busyRetries = 0;
  private sender: "unknown" | "searching" | "known" = "unknown";
  private waiters: (() => void)[] = [];

  constructor(
    private readonly limits: SchedulerLimits,
    private readonly now: () => number,
  ) {
    this.parallel = Math.max(1, limits.maxParallel);
  }

  /** Lanes allowed now (drops to 1 when a server refuses a second connection). */
  get lanes(): number {
    return this.parallel;
  }

  get sessionCount(): number {
    return this.sessions;
  }

  get senderKnown(): boolean {
    return this.sender === "known";
  }

  /** Resolves at the next change of the schedule. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A session opened outside the lanes' decisions (the probe's very first one). */
  firstSession(): SessionTicket {
    return this.ticket(0, 0);
  }

  /** What a lane without a session does next. */
  laneStep(lane: number): LaneStep {
    if (lane >= this.parallel) return { kind: "stop" };
    let claim = 0;
    if (this.sender === "known") {
      const ready = this.countReady() - this.claimed;
      if (ready <= 0) return this.idle();
      claim = Math.min(ready, this.limits.maxCasesPerSession);
    }
    if (this.sessions >= this.limits.maxSessions) return { kind: "stop" };
    this.claimed += claim;
    return { kind: "open", ticket: this.ticket(lane, claim) };
  }

  opened(ticket: SessionTicket): void {
    this.unclaim(ticket);
    ticket.openedAt = this.now();
    this.openFailures = 0;
  }

  /** The session could not be opened: retry (after a pause), try again, or end the lane. */
  openFailed(ticket: SessionTicket, failure: OpenFailure): AfterFailure {
    this.unclaim(ticket);
    if (failure === "busy") {
      if (ticket.lane > 0 && this.parallel > 1) {
        // A second connection refused: the server allows one at a time.
        this.parallel = 1;
        this.notify();
        return { kind: "stop" };
      }
      // Servers may count a connection for a moment after its QUIT: back off, then retry.
      if (this.busyRetries < MAX_BUSY_RETRIES) return { kind: "retry", afterMs: BUSY_BACKOFF_MS * 2 ** this.busyRetries++ };
    }
    if (failure === "tls-fallback") return { kind: "continue" };
    return ++this.openFailures >= MAX_OPEN_FAILURES ? { kind: "stop" } : { kind: "continue" };
  }

  /** What an open session does next: look for a sender, run a batch, wait, or end. */
  sessionStep(ticket: SessionTicket, errors: number): SessionStep<T> {
    if (this.sender !== "known") {
      if (this.sender === "searching") return { kind: "wait", until: null };
      this.sender = "searching";
      return { kind: "find-sender" };
    }
    if (ticket.batches > 0) return { kind: "end" };
    // Reserved up front so parallel sessions split the queue evenly; each case costs the server
    // at most one error, so the batch stays under its limits.
    const batch = this.take(Math.max(1, this.limits.maxCasesPerSession - errors), ticket);
    if (batch.length > 0) {
      ticket.batches++;
      return { kind: "run", batch };
    }
    // A case in flight elsewhere may come back; cases kept for later go to a later session.
    return this.inFlight > 0 ? { kind: "wait", until: null } : { kind: "end" };
  }

  /** The sender search ended: with the cases to run, or without (the session died first). */
  senderFound(items: T[]): void {
    this.sender = "known";
    for (const item of items) this.queue.push({ item, attempts: 0, notBefore: 0 });
    this.notify();
  }

  senderSearchFailed(): void {
    this.sender = "unknown";
    this.notify();
  }

  /** A case of a batch got its answer. */
  done(_entry: ScheduledCase<T>): void {
    this.inFlight--;
    this.notify();
  }

  /**
   * A case of a batch goes back to the front of the queue: its session ended under it (`free`:
   * the try does not count), or it is to be retried after a pause (`notBefore`). False when it
   * has had its tries: it is then no longer scheduled.
   */
  putBack(entry: ScheduledCase<T>, options: { free?: boolean; notBefore?: number } = {}): boolean {
    this.inFlight--;
    if (options.free) entry.attempts--;
    const again = entry.attempts < MAX_ATTEMPTS;
    if (again) {
      entry.notBefore = options.notBefore ?? 0;
      this.queue.unshift(entry);
    }
    this.notify();
    return again;
  }

  /** Cases of a batch never sent (the session died or time ran out): back to the front, as they were. */
  release(entries: ScheduledCase<T>[]): void {
    this.inFlight -= entries.length;
    this.queue.unshift(...entries);
    this.notify();
  }

  laneEnded(): void {
    this.notify();
  }

  /** Everything still queued, removed from the schedule (what could not be run). */
  drain(): ScheduledCase<T>[] {
    return this.queue.splice(0);
  }

  private ticket(lane: number, claim: number): SessionTicket {
    return { id: ++this.sessions, lane, claim, openedAt: null, batches: 0 };
  }

  private unclaim(ticket: SessionTicket): void {
    this.claimed -= ticket.claim;
    ticket.claim = 0;
  }

  private ready(entry: ScheduledCase<T>, openedAt: number): boolean {
    return entry.notBefore <= this.now() && entry.notBefore <= openedAt;
  }

  private countReady(): number {
    const now = this.now();
    return this.queue.filter((e) => e.notBefore <= now).length;
  }

  /** A lane with nothing to open a session for: wait for cases in flight or kept for later, or stop. */
  private idle(): LaneStep {
    const later = this.queue.filter((e) => e.notBefore > this.now()).map((e) => e.notBefore);
    if (this.inFlight === 0 && later.length === 0) return { kind: "stop" };
    return { kind: "wait", until: later.length ? Math.min(...later) : null };
  }

  private take(count: number, ticket: SessionTicket): ScheduledCase<T>[] {
    const openedAt = ticket.openedAt ?? this.now();
    const batch: ScheduledCase<T>[] = [];
    for (let i = 0; i < this.queue.length && batch.length < count; ) {
      if (this.ready(this.queue[i]!, openedAt)) batch.push(...this.queue.splice(i, 1));
      else i++;
    }
    this.inFlight += batch.length;
    return batch;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
