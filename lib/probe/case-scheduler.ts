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
 *
 * Connection refusals (421 at connect or greeting):
 * - on a second lane while sessions run: the server allows one at a time, the lanes drop to one;
 * - otherwise perhaps a slot freed late after QUIT: one quick retry after 200 ms;
 * - still refused: a connection rate limit. The server let `allowed` connections through since
 *   the first of them; waits double from RATE_LIMIT_FIRST_WAIT_MS, within `rateLimitWaitMs` in
 *   all. Once a connection gets through again the pace is known (`allowed` per the time since
 *   the first), and the lanes keep to it: no more refused attempts. Sessions then take batch
 *   after batch while their error budget lasts, so the cases need as few connections as the
 *   server's error limits allow. When the budget is spent, the lanes stop.
 */

/** A case in the schedule; `item` is the probe's own payload. */
export interface ScheduledCase<T> {
  item: T;
  /** Sessions that sent the case so far (a dropped session makes another try). */
  attempts: number;
  /** Not to be run before this time (`now()` units): a pause before a retry. */
  notBefore: number;
  /**
   * The session that got a temporary refusal for it: the retry goes to a session opened after
   * that one ended (a pre-queue filter such as postscreen passes a client on its next connection).
   */
  after: SessionTicket | null;
}

export interface SchedulerLimits {
  /** Sessions open at once (lanes). */
  maxParallel: number;
  /** Cases in one session; each may cost the server one error. */
  maxCasesPerSession: number;
  /** Sessions in all, reconnects and failed attempts included. */
  maxSessions: number;
  /** Total wait for a server's connection rate limit. */
  rateLimitWaitMs: number;
}

/** A session the scheduler knows of, from the attempt to open it to its end. */
export interface SessionTicket {
  /** Session number within the server, from 1. */
  id: number;
  lane: number;
  /** Cases reserved for this session while it opens (so other lanes do not open for them). */
  claim: number;
  openedAt: number | null;
  endedAt: number | null;
  batches: number;
}

export type LaneStep =
  | { kind: "open"; ticket: SessionTicket }
  /** Until something changes (a case handed back or due), or until that time. */
  | { kind: "wait"; until: number | null }
  /** Keep to the server's connection pace: no change shortens it. */
  | { kind: "pause"; ms: number }
  | { kind: "stop" };

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

/** A retry after a temporary refusal: not before this time, and in a session opened after `after` ended. */
export interface Later {
  notBefore: number;
  after: SessionTicket | null;
}

export type AfterFailure = { kind: "retry"; afterMs: number } | { kind: "continue" } | { kind: "stop" };

/** What the schedule learned of a server's connection rate limit. */
export interface RateLimitState {
  allowed: number;
  /** Time from the first accepted connection to the next one accepted after refusals. */
  periodMs: number | null;
  waitedMs: number;
  /** The wait budget ran out: no lane opens a session any more. */
  gaveUp: boolean;
}

/** A case whose session ended under it goes back to the queue up to this many tries in all. */
export const MAX_ATTEMPTS = 3;
/** Consecutive sessions that fail to open before a lane gives up. */
export const MAX_OPEN_FAILURES = 2;
/** Quick retries after a 421 "too many connections": a slot freed late after QUIT. */
export const QUICK_BUSY_RETRIES = 1;
export const BUSY_BACKOFF_MS = 200;
/**
 * First wait once refusals go on: a rate limit; the waits double from here (8, 16, 32 s, then
 * what is left of the budget): against a per-minute limit, the refusal, one quick retry and
 * three attempts after waits in its first minute, then one that gets through.
 */
export const RATE_LIMIT_FIRST_WAIT_MS = 8_000;

export class CaseScheduler<T> {
  private readonly queue: ScheduledCase<T>[] = [];
  private inFlight = 0;
  private claimed = 0;
  private sessions = 0;
  private parallel: number;
  private openFailures = 0;
  /** 421s in a row at connect, none accepted in between. */
  private busyStreak = 0;
  private nextRateWaitMs = RATE_LIMIT_FIRST_WAIT_MS;
  /** When each accepted connection opened. */
  private readonly accepted: number[] = [];
  /** The first accepted connection of the current rate window. */
  private windowStart: number | null = null;
  private limit: RateLimitState | null = null;
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

  get rateLimitBudgetMs(): number {
    return this.limits.rateLimitWaitMs;
  }

  /** Set once refusals outlasted the quick retries: the server limits the rate of connections. */
  get rateLimit(): Readonly<RateLimitState> | null {
    return this.limit;
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
    if (lane >= this.parallel || this.limit?.gaveUp) return { kind: "stop" };
    let claim = 0;
    if (this.sender === "known") {
      const ready = this.countReady() - this.claimed;
      if (ready <= 0) return this.idle();
      claim = Math.min(ready, this.limits.maxCasesPerSession);
    }
    if (this.sessions >= this.limits.maxSessions) return { kind: "stop" };
    const paced = this.paceWait();
    if (paced > 0) return this.waitForLimit(paced);
    this.claimed += claim;
    return { kind: "open", ticket: this.ticket(lane, claim) };
  }

  opened(ticket: SessionTicket): void {
    this.unclaim(ticket);
    const now = this.now();
    ticket.openedAt = now;
    this.openFailures = 0;
    if (this.limit && this.limit.periodMs === null && this.busyStreak > QUICK_BUSY_RETRIES) {
      // Through again after the refusals: the server's window is at most this long.
      this.limit.periodMs = now - (this.windowStart ?? now);
    }
    if (this.busyStreak > QUICK_BUSY_RETRIES || this.windowStart === null) this.windowStart = now;
    this.busyStreak = 0;
    this.accepted.push(now);
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
      if (++this.busyStreak <= QUICK_BUSY_RETRIES) return { kind: "retry", afterMs: BUSY_BACKOFF_MS * 2 ** (this.busyStreak - 1) };
      return this.rateLimited();
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
    // Paced by a connection limit, a session goes on while its error budget lasts.
    const more = this.limit?.periodMs != null && errors < this.limits.maxCasesPerSession;
    if (ticket.batches > 0 && !more) return { kind: "end" };
    // Reserved up front so parallel sessions split the queue evenly; each case costs the server
    // at most one error, so the batch stays under its limits.
    const batch = this.take(Math.max(1, this.limits.maxCasesPerSession - errors), ticket);
    if (batch.length > 0) {
      ticket.batches++;
      return { kind: "run", batch };
    }
    // A case in flight elsewhere may come back; cases kept for later go to a later session.
    return this.sessionIdle(ticket);
  }

  /** The sender search ended: with the cases to run, or without (the session died first). */
  senderFound(items: T[]): void {
    this.sender = "known";
    for (const item of items) this.queue.push({ item, attempts: 0, notBefore: 0, after: null });
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
   * the try does not count), or it got a temporary refusal and is to be retried `later`. False
   * when it has had its tries: it is then no longer scheduled.
   */
  putBack(entry: ScheduledCase<T>, options: { free?: boolean; later?: Later } = {}): boolean {
    this.inFlight--;
    if (options.free) entry.attempts--;
    const again = entry.attempts < MAX_ATTEMPTS;
    if (again) {
      this.postpone(entry, options.later);
      this.queue.unshift(entry);
    }
    this.notify();
    return again;
  }

  /**
   * Cases of a batch never sent (the session died, time ran out, or the server said it is not
   * available for now: `later`): back to the front, as they were.
   */
  release(entries: ScheduledCase<T>[], later?: Later): void {
    this.inFlight -= entries.length;
    for (const e of entries) this.postpone(e, later);
    this.queue.unshift(...entries);
    this.notify();
  }

  /** A session ended (QUIT or drop): cases waiting for a session after it may go. */
  sessionEnded(ticket: SessionTicket): void {
    ticket.endedAt = this.now();
    this.notify();
  }

  laneEnded(): void {
    this.notify();
  }

  /** Everything still queued, removed from the schedule (what could not be run). */
  drain(): ScheduledCase<T>[] {
    return this.queue.splice(0);
  }

  /** Refusals went on after the quick retries: wait for the rate window to pass, within the budget. */
  private rateLimited(): AfterFailure {
    this.limit ??= { allowed: this.accepted.filter((t) => t >= (this.windowStart ?? 0)).length, periodMs: null, waitedMs: 0, gaveUp: false };
    this.limit.periodMs = null; // what was learned did not hold
    const wait = this.nextRateWaitMs;
    this.nextRateWaitMs *= 2;
    const step = this.waitForLimit(wait, true);
    return step.kind === "pause" ? { kind: "retry", afterMs: step.ms } : { kind: "stop" };
  }

  /** A wait for the server's limit, cut to what is left of the budget; past it the lanes stop. */
  private waitForLimit(ms: number, cut = false): LaneStep {
    const limit = this.limit!;
    const left = this.limits.rateLimitWaitMs - limit.waitedMs;
    if (left <= 0 || (!cut && ms > left)) {
      limit.gaveUp = true;
      this.notify();
      return { kind: "stop" };
    }
    const wait = Math.min(ms, left);
    limit.waitedMs += wait;
    return { kind: "pause", ms: wait };
  }

  /** With a known pace: how long until one more connection keeps to it (0: now). */
  private paceWait(): number {
    const limit = this.limit;
    if (!limit || limit.periodMs === null) return 0;
    const now = this.now();
    const recent = this.accepted.filter((t) => t > now - limit.periodMs!);
    if (recent.length < limit.allowed) return 0;
    return recent[recent.length - limit.allowed]! + limit.periodMs - now;
  }

  private ticket(lane: number, claim: number): SessionTicket {
    return { id: ++this.sessions, lane, claim, openedAt: null, endedAt: null, batches: 0 };
  }

  private unclaim(ticket: SessionTicket): void {
    this.claimed -= ticket.claim;
    ticket.claim = 0;
  }

  private postpone(entry: ScheduledCase<T>, later: Later | undefined): void {
    entry.notBefore = later?.notBefore ?? 0;
    entry.after = later?.after ?? null;
  }

  /** Could a session opened at `openedAt` (now, for a session yet to open) run the case now? */
  private ready(entry: ScheduledCase<T>, openedAt: number): boolean {
    if (entry.notBefore > this.now()) return false;
    const after = entry.after;
    return after === null || (after.endedAt !== null && openedAt >= after.endedAt);
  }

  private countReady(): number {
    const now = this.now();
    return this.queue.filter((e) => this.ready(e, now)).length;
  }

  /** The earliest pause end among cases not yet due, if any. */
  private nextDue(): number | null {
    const now = this.now();
    const later = this.queue.filter((e) => e.notBefore > now).map((e) => e.notBefore);
    return later.length ? Math.min(...later) : null;
  }

  /** A lane with nothing to open a session for: wait for cases in flight or kept for later, or stop. */
  private idle(): LaneStep {
    const due = this.nextDue();
    // A case waiting for its failing session to end: that end is a change.
    const waiting = this.queue.some((e) => e.after !== null && e.after.endedAt === null);
    if (this.inFlight === 0 && due === null && !waiting) return { kind: "stop" };
    return { kind: "wait", until: due };
  }

  /** A session with nothing to run now: wait for cases in flight, or for one it may run once due. */
  private sessionIdle(ticket: SessionTicket): SessionStep<T> {
    if (this.inFlight > 0) return { kind: "wait", until: null };
    const openedAt = ticket.openedAt ?? this.now();
    const mine = this.queue.filter((e) => e.notBefore > this.now() && (e.after === null || (e.after.endedAt !== null && openedAt >= e.after.endedAt)));
    return mine.length ? { kind: "wait", until: Math.min(...mine.map((e) => e.notBefore)) } : { kind: "end" };
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
