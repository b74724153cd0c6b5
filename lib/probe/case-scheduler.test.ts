import { describe, expect, it } from "vitest";
import { CaseScheduler, type ScheduledCase, type SchedulerLimits, type SessionTicket } from "./case-scheduler";

/**
 * Each scenario is a script of calls on one scheduler, one line each, with what it must answer:
 * - `first` / `lane L` → the session ticket or the lane's step (`open #2 claim 3`, `wait`,
 *   `wait until 500`, `stop`);
 * - `opened N`; `failed N busy|tls-fallback|other` → `retry 200`, `continue`, `stop`;
 * - `step N E` (session N with E errors so far) → `find-sender`, `run a b c`, `wait`, `end`;
 * - `found a b c`, `search-failed`, `done a`, `back a [free] [at T]` → `queued`/`given up`,
 *   `release a b`, `tick MS`, `lanes` → the lanes allowed, `drain` → the ids left.
 */
type Line = [call: string, answer?: string];

const LIMITS: SchedulerLimits = { maxParallel: 2, maxCasesPerSession: 3, maxSessions: 6 };

function play(script: Line[], limits: SchedulerLimits = LIMITS): void {
  let clock = 0;
  const scheduler = new CaseScheduler<string>(limits, () => clock);
  const tickets = new Map<number, SessionTicket>();
  const entries = new Map<string, ScheduledCase<string>>();
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
        } else answer = step.kind === "wait" && step.until !== null ? `wait until ${step.until}` : step.kind;
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
          for (const e of step.batch) entries.set(e.item, e);
          answer = `run ${step.batch.map((e) => e.item).join(" ")}`;
        } else answer = step.kind === "wait" && step.until !== null ? `wait until ${step.until}` : step.kind;
        break;
      }
      case "found":
        scheduler.senderFound(args);
        break;
      case "search-failed":
        scheduler.senderSearchFailed();
        break;
      case "done":
        for (const id of args) scheduler.done(entryOf(id));
        break;
      case "back": {
        const at = args.indexOf("at");
        const queued = scheduler.putBack(entryOf(args[0]!), { free: args.includes("free"), notBefore: at > 0 ? Number(args[at + 1]) : undefined });
        answer = queued ? "queued" : "given up";
        break;
      }
      case "attempt":
        entryOf(args[0]!).attempts++;
        break;
      case "release":
        scheduler.release(args.map(entryOf));
        break;
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
      "421 with no other session open: back off 200, 400, 800, 1600 ms, then count it as a failure",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["step 1 0", "run a b c"], ["done a b c"],
        ["lane 0", "open #2 claim 1"], ["failed 2 busy", "retry 200"],
        ["lane 0", "open #3 claim 1"], ["failed 3 busy", "retry 400"],
        ["lane 0", "open #4 claim 1"], ["failed 4 busy", "retry 800"],
        ["lane 0", "open #5 claim 1"], ["failed 5 busy", "retry 1600"],
        ["lane 0", "open #6 claim 1"], ["failed 6 busy", "continue"],
        ["lane 0", "stop"], // six sessions in all
        ["drain", "d"],
      ],
      { maxParallel: 1, maxCasesPerSession: 3, maxSessions: 6 },
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
      { maxParallel: 1, maxCasesPerSession: 3, maxSessions: 12 },
    ],
    [
      "claims keep other lanes from opening sessions for cases already reserved",
      [["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["lane 1", "open #2 claim 3"], ["lane 2", "open #3 claim 1"], ["lane 3", "stop"], ["failed 3 other"], ["lane 2", "open #4 claim 1"]],
      { maxParallel: 4, maxCasesPerSession: 3, maxSessions: 12 },
    ],
    [
      "no more sessions than maxSessions, first attempts included",
      [["first", "#1"], ["first", "#2"], ["opened 2"], ["step 2"], ["found a b c d"], ["step 2", "run a b c"], ["done a b c"], ["lane 0", "stop"]],
      { maxParallel: 1, maxCasesPerSession: 3, maxSessions: 2 },
    ],
    [
      "the sender search failed (the session died): another session searches",
      [["first"], ["opened 1"], ["lane 1", "open #2 claim 0"], ["opened 2"], ["step 1", "find-sender"], ["step 2", "wait"], ["search-failed"], ["step 2", "find-sender"], ["found a"], ["step 2", "run a"]],
    ],
    [
      "a case put back for later: lanes wait until then; only a session opened after the pause takes it",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b"], ["step 1", "run a b"], ["done a"], ["back b at 500", "queued"],
        ["step 1", "end"], // b is not for this session
        ["lane 0", "wait until 500"],
        ["tick 499"], ["lane 0", "wait until 500"], ["tick 1"],
        ["lane 0", "open #2 claim 1"], ["opened 2"], ["step 2", "run b"], ["done b"], ["lane 0", "stop"],
      ],
    ],
    [
      "a session opened before the pause ended does not take the case, even once it is due",
      [
        ["first"], ["opened 1"], ["step 1"], ["found a b c d"], ["step 1", "run a b c"], ["back a at 100"], ["done b c"],
        ["lane 1", "open #2 claim 1"], ["opened 2"], ["tick 100"], ["step 2", "run d"], ["done d"], ["step 2", "end"],
        ["lane 1", "open #3 claim 1"], ["opened 3"], ["step 3", "run a"],
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
