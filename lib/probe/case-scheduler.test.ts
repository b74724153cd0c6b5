import { describe, expect, it } from "vitest";
import { CaseScheduler, type ScheduledCase, type SchedulerLimits, type SessionTicket } from "./case-scheduler";

/**
 * Each scenario is a script of calls on one scheduler, one line each, with what it must answer:
 * - `first` / `lane L` → the session ticket or the lane's step (`open #2 claim 3`, `wait`,
 *   `wait until 500`, `stop`);
 * - `opened N`; `failed N busy|tls-fallback|other` → `retry 200`, `continue`, `stop`;
 * - `step N E` (session N with E errors so far) → `find-sender`, `run a b c`, `wait`, `end`;
 * - `found a b c`, `search-failed`, `done a`, `back a [free] [at T]` → `queued`/`given up`,
 *   `release a b [at T]` (a retry `at T` goes to a session opened after the one that ran the
 *   case ended), `ended N`, `tick MS`, `lanes` → the lanes allowed, `limit` → what was learned of
 *   a connection rate limit, `drain` → the ids left.
 */
type Line = [call: string, answer?: string];

const LIMITS: SchedulerLimits = { maxParallel: 2, maxCasesPerSession: 3, maxSessions: 6, rateLimitWaitMs: 60_000 };
const ONE_LANE: SchedulerLimits = { maxParallel: 1, maxCasesPerSession: 3, maxSessions: 20, rateLimitWaitMs: 60_000 };

function play(script: Line[], limits: SchedulerLimits = LIMITS): void {
  let clock = 0;
  const scheduler = new CaseScheduler<string>(limits, () => clock);
  const tickets = new Map<number, SessionTicket>();
  const entries = new Map<string, ScheduledCase<string>>();
  /** The session each case last ran in. */
  const ranIn = new Map<string, SessionTicket>();
  const ticketOf = (n: string) => tickets.get(Number(n)) ?? expect.fail(`no session #${n}`);
  const entryOf = (id: string) => entries.get(id) ?? expect.fail(`case ${id} was never in a batch`);

  for (const [i, [call, expected]] of script.entries()) {
    const [verb, ...args] = call.split(" ");
    let answer: string | undefined;
    switch (verb) {
      case "first": {
        const ticket = scheduler.firstSession();
        tickets.set(ticket.id, ticket);
        answer = `#${ticket.id}`;
        break;
      }
      case "lane": {
        const step = scheduler.laneStep(Number(args[0]));
        if (step.kind === "open") {
          tickets.set(step.ticket.id, step.ticket);
          answer = `open #${step.ticket.id} claim ${step.ticket.claim}`;
        } else if (step.kind === "pause") answer = `pause ${step.ms}`;
        else answer = step.kind === "wait" && step.until !== null ? `wait until ${step.until}` : step.kind;
        break;
      }
      case "opened":
        scheduler.opened(ticketOf(args[0]!));
        break;
      case "failed": {
        const after = scheduler.openFailed(ticketOf(args[0]!), args[1] as "busy" | "tls-fallback" | "other");
        answer = after.kind === "retry" ? `retry ${after.afterMs}` : after.kind;
        break;
      }
      case "step": {
        const step = scheduler.sessionStep(ticketOf(args[0]!), Number(args[1] ?? 0));
        if (step.kind === "run") {
          for (const e of step.batch) {
            entries.set(e.item, e);
            ranIn.set(e.item, ticketOf(args[0]!));
          }
          answer = `run ${step.batch.map((e) => e.item).join(" ")}`;
        } else answer = step.kind === "wait" && step.until !== null ? `wait until ${step.until}` : step.kind;
        break;
      }
      case "found":
        scheduler.senderFound(args);
        break;
      case "ended":
        scheduler.sessionEnded(ticketOf(args[0]!));
        break;
      case "search-failed":
        scheduler.senderSearchFailed();
        break;
      case "done":
        for (const id of args) scheduler.done(entryOf(id));
        break;
      case "back": {
        const at = args.indexOf("at");
        const later = at > 0 ? { notBefore: Number(args[at + 1]), after: ranIn.get(args[0]!)! } : undefined;
        const queued = scheduler.putBack(entryOf(args[0]!), { free: args.includes("free"), later });
        answer = queued ? "queued" : "given up";
        break;
      }
      case "attempt":
        entryOf(args[0]!).attempts++;
        break;
      case "release": {
        const at = args.indexOf("at");
        const ids = at > 0 ? args.slice(0, at) : args;
        scheduler.release(ids.map(entryOf), at > 0 ? { notBefore: Number(args[at + 1]), after: ranIn.get(ids[0]!)! } : undefined);
        break;
      }
      case "limit": {
        const l = scheduler.rateLimit;
        answer = l ? `allowed ${l.allowed} period ${l.periodMs ?? "?"} waited ${l.waitedMs}${l.gaveUp ? " gave up" : ""}` : "none";
        break;
      }
      case "tick":
        clock += Number(args[0]);
        break;
      case "lanes":
        answer = String(scheduler.lanes);
        break;
      case "drain":
        answer = scheduler.drain().map((e) => e.item).join(" ");
        break;
      default:
        throw new Error(`unknown call ${call}`);
    }
    if (expected !== undefined) expect(answer, `line ${i + 1}: ${call}`).toBe(expected);
  }
}

describe("CaseScheduler", () => {
  it.each<[string, Line[], SchedulerLimits?]>([
    [
      "the first session finds the sender while lane 1 opens and waits; then the queue splits into batches",
      [
        ["first", "#1"], ["opened 1"],
        ["lane 1", "open #2 claim 0"], // before the sender is known nothing is claimed
        ["step 1 0", "find-sender"],
        ["opened 2"], ["step 2 0", "wait"], // one search at a time
        ["found a b c d e f g"],
        ["step 2 0", "run a b c"], ["step 1 0", "run d e f"],
        ["done a b c"], ["step 2 0", "end"], // one batch per session
        ["lane 1", "open #3 claim 1"], ["lane 0", "wait"], // g is claimed, d e f in flight
        ["done d e f"], ["step 1 0", "end"], ["lane 0", "stop"],
        ["opened 3"], ["step 3 0", "run g"], ["done g"], ["lane 1", "stop"],
      ],
    ],
    [
      "errors already collected shrink the batch, never below one case",
      [["first"], ["opened 1"], ["step 1"], ["found a b c d e"], ["step 1 2", "run a"], ["done a"], ["lane 0", "open #2 claim 3"], ["opened 2"], ["step 2 7", "run b"]],
    ],
    [
      "a case whose session died goes back to the front, up to three tries in all",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d"],
        ["step 1 0", "run a b c"], ["attempt a"], ["back a", "queued"], ["release b c"],
        ["lane 1", "open #2 claim 3"], ["opened 2"], ["step 2 0", "run b c a"],
        ["attempt a"], ["back a", "queued"], ["done b c"],
        ["lane 0", "open #3 claim 2"], ["opened 3"], ["step 3 0", "run a d"],
        ["attempt a"], ["back a", "given up"], ["done d"], ["drain", ""],
      ],
    ],
    [
      "a try that was not the case's fault (STARTTLS demanded) does not count",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a"], ["step 1", "run a"], ["attempt a"], ["back a free", "queued"],
        ["lane 0", "open #2 claim 1"], ["opened 2"], ["step 2", "run a"], ["attempt a"], ["back a", "queued"],
        ["lane 0", "open #3 claim 1"], ["opened 3"], ["step 3", "run a"], ["attempt a"], ["back a", "queued"],
        ["lane 0", "open #4 claim 1"], ["opened 4"], ["step 4", "run a"], ["attempt a"], ["back a", "given up"], ["lane 0", "stop"],
      ],
    ],
    [
      "a second connection answered with 421: one session at a time from then on",
      [["first"], ["opened 1"], ["lane 1", "open #2 claim 0"], ["failed 2 busy", "stop"], ["lanes", "1"], ["lane 1", "stop"]],
    ],
    [
      "421 with no other session open: one quick retry (a slot freed late); a success resets it",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d e f g"], ["step 1 0", "run a b c"], ["done a b c"],
        ["lane 0", "open #2 claim 3"], ["failed 2 busy", "retry 200"], ["tick 200"],
        ["lane 0", "open #3 claim 3"], ["opened 3"], ["step 3", "run d e f"], ["done d e f"], ["step 3", "end"],
        ["lane 0", "open #4 claim 1"], ["failed 4 busy", "retry 200"], ["limit", "none"],
      ],
      ONE_LANE,
    ],
    [
      "a connection rate limit: waits double within the budget; through again, the pace is kept and sessions pack their cases",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d e f g h i j"], ["step 1 0", "run a b c"], ["done a b c"], ["step 1", "end"],
        ["tick 100"], ["lane 0", "open #2 claim 3"], ["failed 2 busy", "retry 200"],
        ["tick 200"], ["lane 0", "open #3 claim 3"], ["failed 3 busy", "retry 8000"], ["limit", "allowed 1 period ? waited 8000"],
        ["tick 8000"], ["lane 0", "open #4 claim 3"], ["failed 4 busy", "retry 16000"],
        ["tick 16000"], ["lane 0", "open #5 claim 3"], ["opened 5"], ["limit", "allowed 1 period 24300 waited 24000"],
        ["step 5 0", "run d e f"], ["done d e f"], ["step 5 1", "run g h"], ["done g h"], ["step 5 3", "end"], // three errors: the budget of one session
        ["lane 0", "pause 24300"], // one connection per 24.3 s
        ["tick 24300"], ["lane 0", "open #6 claim 2"], ["opened 6"], ["step 6 0", "run i j"], ["done i j"], ["step 6 0", "end"], ["lane 0", "stop"],
        ["limit", "allowed 1 period 24300 waited 48300"],
      ],
      ONE_LANE,
    ],
    [
      "a connection rate limit that outlasts the wait budget: the last wait is cut to the budget, then every lane stops",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d e"], ["step 1 0", "run a b c"], ["done a b c"], ["step 1", "end"],
        ["lane 0", "open #2 claim 2"], ["failed 2 busy", "retry 200"],
        ["lane 0", "open #3 claim 2"], ["failed 3 busy", "retry 1500"], ["lane 0", "open #4 claim 2"], ["failed 4 busy", "stop"],
        ["lane 0", "stop"], ["lane 1", "stop"], ["limit", "allowed 1 period ? waited 1500 gave up"], ["drain", "d e"],
      ],
      { ...LIMITS, rateLimitWaitMs: 1_500 },
    ],
    [
      "cases released for later (the server is not available for now) go with the retry, to a session after it",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["step 1 0", "run a b c"], ["back a at 300"], ["release b c at 300"],
        ["lane 1", "open #2 claim 1"], ["opened 2"], ["step 2", "run d"], ["done d"], ["step 2", "end"], ["step 1", "end"], ["ended 1"],
        ["lane 0", "wait until 300"], ["tick 300"], ["lane 0", "open #3 claim 3"], ["opened 3"], ["step 3", "run b c a"],
      ],
    ],
    [
      "two failures to open in a row end the lane; a success in between resets the count; a TLS fallback is free",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d e f g h i"], ["step 1", "run a b c"], ["done a b c"],
        ["lane 0", "open #2 claim 3"], ["failed 2 other", "continue"],
        ["lane 0", "open #3 claim 3"], ["opened 3"], ["step 3", "run d e f"], ["done d e f"],
        ["lane 0", "open #4 claim 3"], ["failed 4 tls-fallback", "continue"],
        ["lane 0", "open #5 claim 3"], ["failed 5 other", "continue"],
        ["lane 0", "open #6 claim 3"], ["failed 6 other", "stop"],
      ],
      { ...ONE_LANE, maxSessions: 12 },
    ],
    [
      "claims keep other lanes from opening sessions for cases already reserved",
      [["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["lane 1", "open #2 claim 3"], ["lane 2", "open #3 claim 1"], ["lane 3", "stop"], ["failed 3 other"], ["lane 2", "open #4 claim 1"]],
      { ...LIMITS, maxParallel: 4, maxSessions: 12 },
    ],
    [
      "no more sessions than maxSessions, first attempts included",
      [["first", "#1"], ["first", "#2"], ["opened 2"], ["step 2"], ["found a b c d"], ["step 2", "run a b c"], ["done a b c"], ["lane 0", "stop"]],
      { ...ONE_LANE, maxSessions: 2 },
    ],
    [
      "the sender search failed (the session died): another session searches",
      [["first"], ["opened 1"], ["lane 1", "open #2 claim 0"], ["opened 2"], ["step 1", "find-sender"], ["step 2", "wait"], ["search-failed"], ["step 2", "find-sender"], ["found a"], ["step 2", "run a"]],
    ],
    [
      "a case put back for later: lanes wait for the pause and for the session that ran it to end",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b"], ["step 1", "run a b"], ["done a"], ["back b at 500", "queued"],
        ["step 1", "end"], // b is not for this session
        ["lane 0", "wait until 500"], ["tick 500"], ["lane 0", "wait"], // session 1 is still open
        ["ended 1"], ["lane 0", "open #2 claim 1"], ["opened 2"], ["step 2", "run b"], ["done b"], ["lane 0", "stop"],
      ],
    ],
    [
      "a session opened before the one that got the refusal ended never takes the case",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["step 1", "run a b c"], ["back a at 100"], ["done b c"],
        ["lane 1", "open #2 claim 1"], ["opened 2"], ["tick 100"], ["step 2", "run d"], ["done d"], ["step 2", "end"],
        ["step 1", "end"], ["ended 1"], ["lane 1", "open #3 claim 1"], ["opened 3"], ["step 3", "run a"],
      ],
    ],
    [
      "a session opened after it ended, with nothing else to run, waits for the pause",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a"], ["step 1", "run a"], ["back a at 100"], ["step 1", "end"], ["ended 1"],
        ["first", "#2"], ["opened 2"], ["step 2", "wait until 100"], ["tick 100"], ["step 2", "run a"],
      ],
    ],
  ])("%s", (_name, script, limits) => play(script, limits));

  it("wakes those waiting at every change", async () => {
    const scheduler = new CaseScheduler<string>(LIMITS, () => 0);
    const first = scheduler.firstSession();
    scheduler.opened(first);
    const woken = scheduler.changed();
    scheduler.senderFound(["a"]);
    await expect(woken).resolves.toBeUndefined();
  });
});
