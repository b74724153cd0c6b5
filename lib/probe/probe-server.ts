import { randomBytes } from "node:crypto";
import { baselineCases, recipientCases, scopesOf, senderCases, type CaseContext } from "./cases";
import { buildServerReport, judgeCase, ownDomainOf, serverNameOf, skippedCase, type ServerRecord } from "./build-server-report";
import { CaseScheduler, type ScheduledCase, type SessionTicket } from "./case-scheduler";
import { openSession, type OpenResult, type Opening } from "./open-session";
import { IMPLICIT_TLS_PORT } from "./options";
import { findSender, runCase, type CaseRun } from "./run-cases";
import type { ServerTarget } from "./resolve-target";
import { SessionError } from "./smtp-session";
import { Transcript } from "./transcript";
import { outcomeOf } from "./verdict";
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
}

/** Attempts at the first session: a drop, a 421 or a broken TLS handshake earn one more. */
const FIRST_SESSION_ATTEMPTS = 2;
/** Pause before the second attempt at the first session after a 421. */
const FIRST_SESSION_BUSY_PAUSE_MS = 800;

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
  scheduler: CaseScheduler<CaseDefinition>;
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
 *    where offered; a case whose session dies goes back to the queue; a second connection
 *    answered with 421 drops to one session at a time; QUIT at the end of each session;
 * 4. the cases left are "not run"; judge each case, then the server. Never DATA.
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
    scheduler: new CaseScheduler<CaseDefinition>(
      { maxParallel: options.limits.maxParallelSessions, maxCasesPerSession: options.limits.maxCasesPerSession, maxSessions: options.limits.maxSessionsPerServer },
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
  if (first) {
    const lanes = [runLane(probe, 0, first)];
    for (let lane = 1; lane < probe.scheduler.lanes; lane++) lanes.push(runLane(probe, lane, null));
    await Promise.all(lanes);
  }
  // Step 4.
  const why = expired(probe)
    ? options.signal?.aborted
      ? "the check was cancelled"
      : `the server's time budget (${Math.round(options.timeouts.serverTotalMs / 1000)} s) ran out`
    : "the server stopped accepting sessions";
  for (const entry of probe.scheduler.drain()) notRun(probe, entry, `not run: ${why}`);
  return buildServerReport(probe.record, options.signal?.aborted === true);
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
    if (!(await runBatch(probe, opening, step.batch, summary))) break;
  }
  await closeSession(opening, summary, probe.record.transcript);
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

/** The cases to run, baseline first; without an accepted sender only the sender variants can run. */
function defineCases(probe: Probe): CaseDefinition[] {
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
  const runnable: CaseDefinition[] = [];
  for (const def of all) {
    if (record.sender === null && def.group !== "sender") {
      record.results.set(def.id, skippedCase(def, "The server refused every sender we tried at MAIL FROM, so this case could not reach RCPT TO."));
    } else {
      runnable.push(def);
    }
  }
  return runnable;
}

/** Step 3 for one batch; false when the session ended under it. */
async function runBatch(probe: Probe, opening: Opening, batch: ScheduledCase<CaseDefinition>[], summary: SessionSummary): Promise<boolean> {
  const { scheduler, record } = probe;
  for (const [i, entry] of batch.entries()) {
    if (expired(probe)) {
      scheduler.release(batch.slice(i));
      return false;
    }
    summary.caseIds.push(entry.item.id);
    entry.attempts++;
    const def = entry.item;
    // Without a RSET after the last case the transaction stays open: the session ends then.
    const run = await runCase(opening, def.mailFrom, def.rcptTo, { last: i === batch.length - 1, senderKnown: def.mailFrom === record.sender, tlsBroken: record.tlsFailure !== null });
    const alive = settle(probe, entry, run);
    if (!alive) {
      scheduler.release(batch.slice(i + 1));
      return false;
    }
  }
  return true;
}

/** Records what a case got, or hands it back to the schedule; whether its session lives on. */
function settle(probe: Probe, entry: ScheduledCase<CaseDefinition>, run: CaseRun): boolean {
  const { scheduler } = probe;
  if (run.kind === "answered") {
    finish(probe, entry, {
      outcome: outcomeOf(run.reply),
      stage: run.stage,
      reply: pick(run.reply),
      mailReply: pick(run.mailReply),
      note: null,
      session: run.session,
      tls: run.tls,
      durationMs: run.durationMs,
    });
    scheduler.done(entry);
    return run.alive;
  }
  const free = run.kind === "needs-tls";
  if (free) demandTls(probe);
  if (!scheduler.putBack(entry, { free })) notRun(probe, entry, `no answer after ${entry.attempts} tries: ${run.why}`);
  return false;
}

/** 530 before STARTTLS: the server relays, if at all, only over TLS. */
function demandTls(probe: Probe): void {
  probe.record.starttlsRequired = true;
  probe.useStarttls = true;
}

function notRun(probe: Probe, entry: ScheduledCase<CaseDefinition>, note: string): void {
  finish(probe, entry, { outcome: "error", stage: null, reply: null, mailReply: null, note, session: null, tls: false, durationMs: null });
}

function finish(probe: Probe, entry: ScheduledCase<CaseDefinition>, result: Omit<CaseResult, keyof CaseDefinition | "attempts" | "evidence">): void {
  const { record, ctx } = probe;
  const full: CaseResult = { ...entry.item, ...result, attempts: entry.attempts, evidence: false };
  record.results.set(full.id, full);
  ctx.emit({ type: "case-result", t: since(ctx), server: probe.key, result: judgeCase(full, record.results.values()) });
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
