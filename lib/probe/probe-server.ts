import { randomBytes } from "node:crypto";
import { baselineCases, recipientCases, scopesOf, senderCases, type CaseContext } from "./cases";
import { buildServerReport, judgeCase, ownDomainOf, serverNameOf, skippedCase, type ServerRecord } from "./build-server-report";
import { CaseScheduler, type Later, type ScheduledCase, type SessionTicket } from "./case-scheduler";
import { formatReply } from "./reply-parser";
import { openSession, type OpenResult, type Opening } from "./open-session";
import { DEFAULT_TIMEOUTS, IMPLICIT_TLS_PORT } from "./options";
import { findSender, runCase, type CaseRun } from "./run-cases";
import type { ServerTarget } from "./resolve-target";
import { SessionError } from "./smtp-session";
import { Transcript } from "./transcript";
import { describePace, isPolicyDeferral, outcomeOf } from "./verdict";
import type { CaseDefinition, CaseResult, NormalizedTarget, ProbeEvent, ProbeOptions, ServerKey, ServerReport, SessionSummary } from "./types";

export function serverKey(ip: string, port: number): ServerKey {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface ServerProbeContext {
  /** Set when the service refused to probe this server (too many probes lately): no connection. */
  refused?: string;
  target: NormalizedTarget;
  options: ProbeOptions;
  emit: (event: ProbeEvent) => void;
  /** performance.now() when the check started: event times are relative to it. */
  checkStarted: number;
  /**
   * A re-check (recheck-cases.ts): only these cases, each with its own MAIL FROM, and the sender
   * the first probe found; no sender search, no baseline of its own. The report then holds only
   * these cases.
   */
  only?: { cases: CaseDefinition[]; sender: string | null };
}

/** Attempts at the first session: a drop, a 421 or a broken TLS handshake earn one more. */
const FIRST_SESSION_ATTEMPTS = 2;
/** Pause before the second attempt at the first session after a 421. */
const FIRST_SESSION_BUSY_PAUSE_MS = 800;

/** A retry after a pause needs at least this long before the server's deadline, besides opening a session. */
const RETRY_MIN_MS = 1_000;

/** A case as scheduled: its definition, the sender it goes with, and its first try if retried. */
interface PlannedCase {
  def: CaseDefinition;
  mailFrom: string;
  /** The result of the first try, when a temporary refusal earned the case one more. */
  firstTry: CaseResult | null;
}

/** An open session and the schedule's ticket for it. */
interface OpenSession {
  opening: Opening;
  ticket: SessionTicket;
}

/** One server's probe: its settings, what it saw so far, and its schedule. */
interface Probe {
  ctx: ServerProbeContext;
  key: ServerKey;
  deadline: number;
  implicitTls: boolean;
  /** STARTTLS when offered; off after a broken handshake, on again when the server demands TLS. */
  useStarttls: boolean;
  record: ServerRecord;
  scheduler: CaseScheduler<PlannedCase>;
}

/**
 * Probes one address and port:
 * 1. open the first session: connect (TLS on 465), greeting, EHLO (HELO on 500/502), STARTTLS
 *    when offered, EHLO again; its facts describe the server; if it cannot be opened (after one
 *    more try in plaintext, after a drop or a 421) the server is unreachable;
 * 2. find a sender the server accepts (ours, else the null sender), then define the cases
 *    (baseline first, sender variants, recipient tricks);
 * 3. run the cases over up to `maxParallelSessions` sessions at once, each with one batch of at
 *    most `maxCasesPerSession` cases (so no session nears the servers' error limits), pipelined
 *    where offered; QUIT at the end of each session. The schedule (case-scheduler.ts) decides
 *    when to open sessions and what becomes of a case:
 *    - its session dies before the answer: back to the queue;
 *    - a temporary refusal that is not a policy deferral: once more, in a session opened after
 *      `retryPauseMs` (postscreen passes a client on its next connection; greylisting may too);
 *      a 4xx at MAIL FROM retries a recipient or baseline case with our other sender, and if the
 *      sender is refused again the case is "not run" (`notRun: "sender-tempfail"`); a 4xx X.3.x
 *      at RCPT (the mail system, not the recipient) ends the batch: the rest wait too;
 *    - a second connection answered with 421 drops to one session at a time; refusals that go on
 *      are a connection rate limit: wait for it within `rateLimitWaitMs`, keep to its pace, pack
 *      the cases into few sessions;
 * 4. the cases left are "not run"; judge each case, then the server. Never DATA.
 *
 * A re-check (`ctx.only`) skips the sender search of step 2: its cases are the ones given.
 */
export async function probeServer(server: ServerTarget, ctx: ServerProbeContext): Promise<ServerReport> {
  const { options } = ctx;
  const started = performance.now();
  const probe: Probe = {
    ctx,
    key: serverKey(server.ip, server.port),
    deadline: started + options.timeouts.serverTotalMs,
    implicitTls: server.port === IMPLICIT_TLS_PORT,
    useStarttls: options.starttls === "auto",
    record: {
      server,
      target: ctx.target,
      started,
      transcript: new Transcript(started, options.limits.maxTranscriptLines, options.limits.maxTranscriptBytes),
      sessions: [],
      results: new Map(),
      catalogue: [],
      first: null,
      firstFailure: null,
      tlsFailure: null,
      starttlsRequired: false,
      senderChecked: false,
      sender: null,
    },
    scheduler: new CaseScheduler<PlannedCase>(
      {
        maxParallel: options.limits.maxParallelSessions,
        maxCasesPerSession: options.limits.maxCasesPerSession,
        maxSessions: options.limits.maxSessionsPerServer,
        rateLimitWaitMs: options.timeouts.rateLimitWaitMs ?? DEFAULT_TIMEOUTS.rateLimitWaitMs!,
      },
      () => performance.now(),
    ),
  };

  if (ctx.refused) {
    probe.record.firstFailure = new SessionError("rate-limited", ctx.refused);
    return buildServerReport(probe.record, false);
  }
  // Step 1.
  const first = await openFirstSession(probe);
  // Steps 2 and 3: lane 0 starts on the first session; the other lanes open their own meanwhile.
  if (first && ctx.only) planOnly(probe, ctx.only);
  if (first) {
    const lanes = [runLane(probe, 0, first)];
    for (let lane = 1; lane < probe.scheduler.lanes; lane++) lanes.push(runLane(probe, lane, null));
    await Promise.all(lanes);
  }
  // Step 4.
  leaveTheRest(probe);
  return buildServerReport(probe.record, options.signal?.aborted === true);
}

/** The cases still queued get what they had (a first try), else "not run" and why. */
function leaveTheRest(probe: Probe): void {
  const { options } = probe.ctx;
  const { scheduler, record } = probe;
  const limit = scheduler.rateLimit;
  const left = scheduler.drain();
  const limited = limit?.gaveUp === true && !expired(probe);
  const why = expired(probe)
    ? options.signal?.aborted
      ? "the check was cancelled"
      : `the server's time budget (${Math.round(options.timeouts.serverTotalMs / 1000)} s) ran out`
    : limited
      ? `the server ${describePace(limit)}, and the wait budget (${Math.round(scheduler.rateLimitBudgetMs / 1000)} s) ran out`
      : "the server stopped accepting sessions";
  for (const entry of left) {
    const { firstTry } = entry.item;
    if (firstTry) {
      const atMail = firstTry.stage === "mail";
      const note = `A temporary refusal${atMail ? " at MAIL FROM" : ""} (${formatReply(firstTry.reply!)}); the retry could not run: ${why}.`;
      finish(probe, { ...firstTry, attempts: entry.attempts, note, ...(atMail ? { notRun: "sender-tempfail" as const } : {}) });
    }
    else notRun(probe, entry, `not run: ${why}`, limited ? "connection-limit" : undefined);
  }
  if (limit) record.rateLimit = { allowed: limit.allowed, periodMs: limit.periodMs, waitedMs: Math.round(limit.waitedMs), casesNotRun: limited ? left.filter((e) => !e.item.firstTry).length : 0 };
}

/** Step 1: the first session, with one more try in plaintext, after a drop or after a 421. */
async function openFirstSession(probe: Probe): Promise<OpenSession | null> {
  const { record } = probe;
  for (let attempt = 0; attempt < FIRST_SESSION_ATTEMPTS && !expired(probe); attempt++) {
    const ticket = probe.scheduler.firstSession();
    const opened = await open(probe, ticket);
    if (opened.ok) {
      probe.scheduler.opened(ticket);
      record.first = opened.opening;
      return { opening: opened.opening, ticket };
    }
    const { error } = opened;
    record.firstFailure ??= error;
    if (error.status === "tls-failed" && !probe.implicitTls) {
      probe.useStarttls = false; // try again in plaintext: a broken TLS setup is a finding, not the end
      continue;
    }
    if (error.status === "service-unavailable") await pause(Math.min(FIRST_SESSION_BUSY_PAUSE_MS, probe.deadline - performance.now()), probe.ctx.options.signal);
    else if (error.status !== "closed" && error.status !== "reset") break;
  }
  return null;
}

/** One lane: session after session, each opened when the schedule says so, until it says stop. */
async function runLane(probe: Probe, lane: number, first: OpenSession | null): Promise<void> {
  const { scheduler } = probe;
  let session = first;
  try {
    while (!expired(probe)) {
      if (!session) {
        const step = scheduler.laneStep(lane);
        if (step.kind === "stop") break;
        if (step.kind === "wait") {
          await waitFor(probe, step.until);
          continue;
        }
        if (step.kind === "pause") {
          await pause(Math.min(step.ms, probe.deadline - performance.now()), probe.ctx.options.signal);
          continue;
        }
        const opened = await open(probe, step.ticket);
        if (!opened.ok) {
          const after = scheduler.openFailed(step.ticket, openFailure(probe, opened.error));
          if (after.kind === "stop") break;
          if (after.kind === "retry") await pause(Math.min(after.afterMs, probe.deadline - performance.now()), probe.ctx.options.signal);
          continue;
        }
        scheduler.opened(step.ticket);
        session = { opening: opened.opening, ticket: step.ticket };
      }
      await useSession(probe, session.opening, session.ticket);
      session = null;
    }
  } finally {
    scheduler.laneEnded();
  }
}

/** What the schedule makes of a failed open; a broken TLS handshake turns STARTTLS off first. */
function openFailure(probe: Probe, error: SessionError): "busy" | "tls-fallback" | "other" {
  if (error.status === "service-unavailable") return "busy";
  if (error.status === "tls-failed" && probe.useStarttls && !probe.implicitTls) {
    probe.useStarttls = false;
    return "tls-fallback";
  }
  return "other";
}

/**
 * An open session does what the schedule says: find the sender (step 2), run a batch (step 3),
 * or wait for cases in flight elsewhere; then QUIT.
 */
async function useSession(probe: Probe, opening: Opening, ticket: SessionTicket): Promise<void> {
  const { scheduler } = probe;
  const summary = probe.record.sessions.find((s) => s.id === opening.session.id)!;
  while (!expired(probe)) {
    const step = scheduler.sessionStep(ticket, opening.errors);
    if (step.kind === "end") break;
    if (step.kind === "wait") {
      await waitFor(probe, step.until);
      continue;
    }
    if (step.kind === "find-sender") {
      if (!(await searchSender(probe, opening))) break;
      continue;
    }
    if (!(await runBatch(probe, opening, ticket, step.batch, summary))) break;
  }
  await closeSession(opening, summary, probe.record.transcript);
  scheduler.sessionEnded(ticket);
}

/** Step 2 on this session; false when the session can no longer be used. */
async function searchSender(probe: Probe, opening: Opening): Promise<boolean> {
  const { options } = probe.ctx;
  const { record, scheduler } = probe;
  const search = await findSender(opening, [`${options.senderLocalPart}@${options.senderDomain}`, ""], record.tlsFailure !== null);
  if (search.kind !== "found") {
    if (search.kind === "needs-tls") demandTls(probe);
    scheduler.senderSearchFailed();
    return false;
  }
  record.sender = search.sender;
  record.senderChecked = true;
  scheduler.senderFound(defineCases(probe));
  return true;
}

/** A re-check's step 2: the sender is known from the first probe, the cases are given. */
function planOnly(probe: Probe, only: NonNullable<ServerProbeContext["only"]>): void {
  const { record, scheduler } = probe;
  record.sender = only.sender;
  record.senderChecked = true;
  record.catalogue.push(...only.cases.map((d) => d.id));
  scheduler.senderFound(only.cases.map((def) => ({ def, mailFrom: def.mailFrom, firstTry: null })));
}

/** The cases to run, baseline first; without an accepted sender only the sender variants can run. */
function defineCases(probe: Probe): PlannedCase[] {
  const { options, target } = probe.ctx;
  const { record } = probe;
  const caseCtx: CaseContext = {
    senderLocalPart: options.senderLocalPart,
    senderDomain: options.senderDomain,
    recipientLocalPart: options.recipientLocalPart,
    recipientDomain: options.recipientDomain,
    serverName: serverNameOf(record),
    ip: record.server.ip,
    targetDomain: target.kind === "domain" ? target.name : null,
  };
  const sender = record.sender ?? `${options.senderLocalPart}@${options.senderDomain}`;
  const recipient = recipientCases(caseCtx, sender);
  const token = options.randomToken?.() ?? randomBytes(6).toString("hex");
  const baseline = baselineCases(caseCtx, sender, ownDomainOf(record), scopesOf(recipient), token);
  const all = [...baseline, ...senderCases(caseCtx), ...recipient];
  record.catalogue.push(...all.map((d) => d.id));
  const runnable: PlannedCase[] = [];
  for (const def of all) {
    if (record.sender === null && def.group !== "sender") {
      record.results.set(def.id, skippedCase(def, "The server refused every sender we tried at MAIL FROM, so this case could not reach RCPT TO."));
    } else {
      runnable.push({ def, mailFrom: def.mailFrom, firstTry: null });
    }
  }
  return runnable;
}

/** Step 3 for one batch; false when the session ended under it, or the rest must wait. */
async function runBatch(probe: Probe, opening: Opening, ticket: SessionTicket, batch: ScheduledCase<PlannedCase>[], summary: SessionSummary): Promise<boolean> {
  const { scheduler, record } = probe;
  for (const [i, entry] of batch.entries()) {
    if (expired(probe)) {
      scheduler.release(batch.slice(i));
      return false;
    }
    const planned = entry.item;
    summary.caseIds.push(planned.def.id);
    entry.attempts++;
    // Without a RSET after the last case the transaction stays open: the session ends then.
    const run = await runCase(opening, planned.mailFrom, planned.def.rcptTo, {
      last: i === batch.length - 1,
      senderKnown: planned.mailFrom === record.sender,
      tlsBroken: record.tlsFailure !== null,
    });
    const next = settle(probe, entry, run, ticket);
    if (next !== "go-on") {
      scheduler.release(batch.slice(i + 1), next === "later" ? (retryLater(probe, ticket) ?? undefined) : undefined);
      return false;
    }
  }
  return true;
}

/**
 * Records what a case got, or hands it back to the schedule. What the batch does next: go on,
 * stop because the session ended, or stop because the server's mail system said "later" (the
 * other cases of the batch would get the same).
 */
function settle(probe: Probe, entry: ScheduledCase<PlannedCase>, run: CaseRun, ticket: SessionTicket): "go-on" | "ended" | "later" {
  const { scheduler } = probe;
  if (run.kind !== "answered") {
    const free = run.kind === "needs-tls";
    if (free) demandTls(probe);
    if (!scheduler.putBack(entry, { free })) notRun(probe, entry, `no answer after ${entry.attempts} tries: ${run.why}`);
    return "ended";
  }
  const planned = entry.item;
  const result = resultOf(entry, run);
  const temporary = run.reply.code >= 400 && run.reply.code < 500 && !isPolicyDeferral(run.reply);
  const later = temporary && !planned.firstTry ? retryLater(probe, ticket) : null;
  if (later !== null) {
    // Once more, in a later session, after a pause; a recipient or baseline case whose sender
    // was refused at MAIL goes with our other sender (its title names no sender).
    planned.firstTry = result;
    if (run.stage === "mail" && planned.def.group !== "sender") planned.mailFrom = otherSender(probe, planned.mailFrom) ?? planned.mailFrom;
    emitResult(probe, { ...result, note: `A temporary refusal (${formatReply(run.reply)}); tried again in a later session after a pause.` });
    if (!scheduler.putBack(entry, { later })) {
      planned.firstTry = null;
      finishAnswered(probe, entry, result);
    }
  } else {
    finishAnswered(probe, entry, result);
    scheduler.done(entry);
  }
  if (!run.alive) return "ended";
  return temporary && /^4\.3\./.test(run.reply.enhanced ?? "") ? "later" : "go-on";
}

/** A case's final answer, with what its first try got when it was retried. */
function finishAnswered(probe: Probe, entry: ScheduledCase<PlannedCase>, result: CaseResult): void {
  const first = entry.item.firstTry;
  const refusedAtMail = (r: CaseResult) => r.stage === "mail" && r.reply !== null && r.reply.code >= 400 && r.reply.code < 500 && !isPolicyDeferral(r.reply);
  if (first && refusedAtMail(first) && result.stage === "mail") {
    // The sender was refused again (with our other sender, for a recipient trick): never run.
    const again = result.mailFrom === first.mailFrom ? "again" : `again with MAIL FROM:<${result.mailFrom}>`;
    const note = `Not run: the server refused the sender temporarily at MAIL FROM (${formatReply(first.reply!)}), and ${again} (${formatReply(result.reply!)}), so the case never reached RCPT TO.`;
    finish(probe, { ...first, attempts: entry.attempts, notRun: "sender-tempfail", note });
    return;
  }
  if (!first && refusedAtMail(result)) {
    finish(probe, { ...result, notRun: "sender-tempfail", note: `Not run: the server refused the sender temporarily at MAIL FROM (${formatReply(result.reply!)}), so the case never reached RCPT TO.` });
    return;
  }
  let note = result.note;
  if (first) {
    note = first.mailFrom === result.mailFrom
      ? `Tried again in a later session after "${formatReply(first.reply!)}".`
      : `Tried again in a later session with MAIL FROM:<${result.mailFrom}>, after MAIL FROM:<${first.mailFrom}> got "${formatReply(first.reply!)}".`;
  }
  finish(probe, { ...result, note });
}

/**
 * When a temporary refusal in this session may be retried: in a session opened after this one
 * ended, after the pause, if such a session still fits the server's budget.
 */
function retryLater(probe: Probe, ticket: SessionTicket): Later | null {
  const pauseMs = probe.ctx.options.timeouts.retryPauseMs ?? DEFAULT_TIMEOUTS.retryPauseMs!;
  const first = probe.record.first?.timings;
  const opening = first ? first.connectMs + first.greetingMs + first.ehloMs + (first.tlsMs ?? 0) : 0;
  const notBefore = performance.now() + pauseMs;
  return notBefore + opening + RETRY_MIN_MS < probe.deadline ? { notBefore, after: ticket } : null;
}

/** Our other candidate sender (ours ↔ the null sender), unless the server refused it before. */
function otherSender(probe: Probe, sender: string): string | null {
  const { options } = probe.ctx;
  const ours = `${options.senderLocalPart}@${options.senderDomain}`;
  const other = sender === ours ? "" : sender === "" ? ours : null;
  // The sender search tries ours first: if it settled on the null sender, ours was refused.
  return other === ours && probe.record.sender === "" ? null : other;
}

function resultOf(entry: ScheduledCase<PlannedCase>, run: Extract<CaseRun, { kind: "answered" }>): CaseResult {
  return {
    ...entry.item.def,
    mailFrom: entry.item.mailFrom,
    outcome: outcomeOf(run.reply),
    stage: run.stage,
    reply: pick(run.reply),
    mailReply: pick(run.mailReply),
    evidence: false,
    note: null,
    session: run.session,
    tls: run.tls,
    durationMs: run.durationMs,
    attempts: entry.attempts,
  };
}

/** 530 before STARTTLS: the server relays, if at all, only over TLS. */
function demandTls(probe: Probe): void {
  probe.record.starttlsRequired = true;
  probe.useStarttls = true;
}

function notRun(probe: Probe, entry: ScheduledCase<PlannedCase>, note: string, cause?: CaseResult["notRun"]): void {
  const { def, mailFrom } = entry.item;
  const result: CaseResult = { ...def, mailFrom, outcome: "error", stage: null, reply: null, mailReply: null, evidence: false, note, session: null, tls: false, durationMs: null, attempts: entry.attempts };
  finish(probe, cause ? { ...result, notRun: cause } : result);
}

/** A case's final result: kept for the report and sent to those watching. */
function finish(probe: Probe, result: CaseResult): void {
  probe.record.results.set(result.id, result);
  emitResult(probe, result);
}

function emitResult(probe: Probe, result: CaseResult): void {
  const { record, ctx } = probe;
  ctx.emit({ type: "case-result", t: since(ctx), server: probe.key, result: judgeCase(result, record.results.values()) });
}

/** Opens a session for a ticket, with its summary in the report. */
async function open(probe: Probe, ticket: SessionTicket): Promise<OpenResult> {
  const { ctx, record } = probe;
  const { options } = ctx;
  const id = ticket.id;
  const summary: SessionSummary = { id, status: "ok", tls: false, startedMs: record.transcript.now(), endedMs: 0, caseIds: [], detail: null };
  record.sessions.push(summary);
  const opened = await openSession({
    ip: record.server.ip,
    port: record.server.port,
    servername: ctx.target.kind === "domain" ? record.server.host : null,
    implicitTls: probe.implicitTls,
    id,
    timeouts: options.timeouts,
    limits: options.limits,
    transcript: record.transcript,
    deadline: probe.deadline,
    signal: options.signal,
    onReply: (command, reply) => ctx.emit({ type: "reply", t: since(ctx), server: probe.key, session: id, command, reply }),
    ehloName: options.ehloName,
    wantStarttls: () => probe.useStarttls,
    onConnected: () => ctx.emit({ type: "connected", t: since(ctx), server: probe.key, session: id, tls: probe.implicitTls }),
  });
  if (opened.ok) {
    summary.tls = opened.opening.session.secure;
  } else {
    if (opened.tls) record.tlsFailure = opened.tls;
    summary.status = opened.error.status;
    summary.detail = opened.error.message;
    summary.endedMs = record.transcript.now();
  }
  return opened;
}

/** QUIT, and the session's end in its summary. */
async function closeSession(opening: Opening, summary: SessionSummary, transcript: Transcript): Promise<void> {
  const alive = !opening.session.closed;
  summary.status = alive ? "ok" : "closed";
  await opening.session.quit();
  summary.endedMs = transcript.now();
  if (!alive) summary.detail ??= "the session ended early";
}

function expired(probe: Probe): boolean {
  return performance.now() >= probe.deadline || probe.ctx.options.signal?.aborted === true;
}

/** Until the schedule changes, or (when given) until a time: the end of a pause before a retry. */
async function waitFor(probe: Probe, until: number | null): Promise<void> {
  if (until === null) return probe.scheduler.changed();
  let timer: NodeJS.Timeout | undefined;
  const due = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, Math.min(until, probe.deadline) - performance.now()))));
  await Promise.race([probe.scheduler.changed(), due]).finally(() => clearTimeout(timer));
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function since(ctx: ServerProbeContext): number {
  return Math.round(performance.now() - ctx.checkStarted);
}

function pick(reply: { code: number; enhanced: string | null; text: string }): CaseResult["reply"] {
  return { code: reply.code, enhanced: reply.enhanced, text: reply.text };
}
