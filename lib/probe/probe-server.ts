import { randomBytes } from "node:crypto";
import { UNQUALIFIED_SCOPE, addressLiteral, baselineCases, recipientCases, scopesOf, senderCases, type CaseContext } from "./cases";
import { serverFindings } from "./findings";
import { formatReply } from "./reply-parser";
import { isHostName, type ServerTarget } from "./resolve-target";
import { SessionError, SmtpSession } from "./smtp-session";
import { Transcript } from "./transcript";
import { isEvidence, isPolicyDeferral, outcomeOf, serverVerdict } from "./verdict";
import { IMPLICIT_TLS_PORT } from "./options";
import type {
  CaseDefinition,
  CaseResult,
  ConnectionStatus,
  NormalizedTarget,
  ProbeEvent,
  ProbeOptions,
  ServerKey,
  ServerReport,
  SessionSummary,
  SmtpReply,
  TlsInfo,
} from "./types";

export function serverKey(ip: string, port: number): ServerKey {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface ServerProbeContext {
  target: NormalizedTarget;
  options: ProbeOptions;
  emit: (event: ProbeEvent) => void;
  /** performance.now() when the check started: event times are relative to it. */
  checkStarted: number;
}

/** What the opening of a session learned about the server. */
interface Opening {
  session: SmtpSession;
  greeting: SmtpReply;
  ehlo: SmtpReply;
  usedHelo: boolean;
  /** Extensions of the first EHLO (before any STARTTLS) and of the last one. */
  plainExtensions: string[];
  extensions: string[];
  starttlsOffered: boolean;
  tls: TlsInfo | null;
  timings: { connectMs: number; greetingMs: number; ehloMs: number; tlsMs: number | null };
  /** Replies of 4xx/5xx so far: servers count them (Postfix slows down after 10). */
  errors: number;
}

interface Pending {
  def: CaseDefinition;
  attempts: number;
}

/** The session ended under a case: the case goes back to the queue (up to this many tries). */
const MAX_ATTEMPTS = 3;
/** Consecutive sessions that fail to open before we stop trying this server. */
const MAX_OPEN_FAILURES = 2;
/** Retries after a 421 "too many connections", with exponential backoff from BUSY_BACKOFF_MS. */
const MAX_BUSY_RETRIES = 4;
const BUSY_BACKOFF_MS = 200;

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

function parseExtensions(ehlo: SmtpReply): string[] {
  return ehlo.text.split("\n").slice(1).map((l) => l.trim()).filter(Boolean);
}

function hasExtension(extensions: string[], name: string): boolean {
  return extensions.some((e) => e.toUpperCase() === name || e.toUpperCase().startsWith(`${name} `) || e.toUpperCase().startsWith(`${name}=`));
}

function firstWord(text: string): string | null {
  const word = text.split(/\s+/)[0]?.toLowerCase().replace(/\.$/, "") ?? "";
  return word || null;
}

function pick(reply: SmtpReply): Pick<SmtpReply, "code" | "enhanced" | "text"> {
  return { code: reply.code, enhanced: reply.enhanced, text: reply.text };
}

/**
 * Probes one address and port:
 * 1. open a session: connect (TLS on 465), greeting, EHLO (HELO on 500/502), STARTTLS when
 *    offered, EHLO again; its facts describe the server;
 * 2. find a sender the server accepts (ours, else the null sender) for the baseline and tricks;
 * 3. queue the cases (baseline first) and drain the queue with up to `maxParallelSessions`
 *    sessions of at most `maxCasesPerSession` cases each, so no session nears the servers' error
 *    limits; pipeline where offered; a case whose session dies goes back to the queue; a second
 *    connection answered with 421 drops the parallelism to one;
 * 4. judge each case, then the server; never send DATA; QUIT at the end of each session.
 */
export async function probeServer(server: ServerTarget, ctx: ServerProbeContext): Promise<ServerReport> {
  const { options, emit } = ctx;
  const { timeouts, limits } = options;
  const key = serverKey(server.ip, server.port);
  const started = performance.now();
  const deadline = started + timeouts.serverTotalMs;
  const transcript = new Transcript(started, limits.maxTranscriptLines, limits.maxTranscriptBytes);
  const t = () => Math.round(performance.now() - ctx.checkStarted);
  const implicitTls = server.port === IMPLICIT_TLS_PORT;

  const sessions: SessionSummary[] = [];
  const results = new Map<string, CaseResult>();
  const queue: Pending[] = [];
  let sessionCount = 0;
  let parallel = Math.max(1, limits.maxParallelSessions);
  let useStarttls = options.starttls === "auto";
  let starttlsRequired = false;
  let first: Opening | null = null;
  let firstFailure: SessionError | null = null;
  let tlsFailure: TlsInfo | null = null;
  let inFlight = 0;
  /** Cases that sessions being opened will take: no further session is opened for them. */
  let claimed = 0;
  let openFailures = 0;
  let busyRetries = 0;
  let workingSender: string | null = null;
  let senderChecked = false;
  let senderSearch = false;
  const catalogue: string[] = [];
  let changed: () => void = () => {};
  let changedPromise = new Promise<void>((r) => (changed = r));
  const notify = () => {
    const resolve = changed;
    changedPromise = new Promise<void>((r) => (changed = r));
    resolve();
  };
  const expired = () => performance.now() >= deadline || options.signal?.aborted === true;

  const serverName = (): string => {
    if (ctx.target.kind === "domain") return server.host;
    const ehloName = first ? firstWord(first.ehlo.text) : null;
    const greetName = first ? firstWord(first.greeting.text) : null;
    return [ehloName, greetName, server.confirmedPtr[0]].find((n): n is string => !!n && isHostName(n)) ?? addressLiteral(server.ip);
  };

  async function open(id: number): Promise<Opening> {
    const summary: SessionSummary = { id, status: "ok", tls: false, startedMs: transcript.now(), endedMs: 0, caseIds: [], detail: null };
    sessions.push(summary);
    const begin = performance.now();
    let session: SmtpSession | null = null;
    try {
      session = await SmtpSession.open({
        ip: server.ip,
        port: server.port,
        servername: ctx.target.kind === "domain" ? server.host : null,
        implicitTls,
        id,
        timeouts,
        limits,
        transcript,
        deadline,
        signal: options.signal,
        onReply: (command, reply) => emit({ type: "reply", t: t(), server: key, session: id, command, reply }),
      });
      const connectMs = performance.now() - begin;
      emit({ type: "connected", t: t(), server: key, session: id, tls: implicitTls });
      const greetingStart = performance.now();
      const greeting = await session.readGreeting();
      const greetingMs = performance.now() - greetingStart;
      if (greeting.code === 421) throw new SessionError("service-unavailable", formatReply(greeting), [greeting]);
      if (greeting.code !== 220) throw new SessionError("greeting-rejected", formatReply(greeting), [greeting]);
      const ehloStart = performance.now();
      let usedHelo = false;
      let ehlo = await session.command(`EHLO ${options.ehloName}`);
      let errors = 0;
      if (ehlo.code === 500 || ehlo.code === 502) {
        errors++;
        usedHelo = true;
        ehlo = await session.command(`HELO ${options.ehloName}`);
      }
      if (ehlo.code === 421) throw new SessionError("service-unavailable", formatReply(ehlo), [ehlo]);
      if (ehlo.code >= 300) throw new SessionError("greeting-rejected", `${usedHelo ? "HELO" : "EHLO"} refused: ${formatReply(ehlo)}`, [ehlo]);
      const ehloMs = performance.now() - ehloStart;
      const plainExtensions = usedHelo ? [] : parseExtensions(ehlo);
      let extensions = plainExtensions;
      const starttlsOffered = hasExtension(plainExtensions, "STARTTLS");
      let tlsMs: number | null = session.tlsInfo?.handshakeMs ?? null;
      if (!session.secure && starttlsOffered && useStarttls) {
        const tlsStart = performance.now();
        const go = await session.command("STARTTLS");
        if (go.code === 220) {
          await session.upgrade();
          ehlo = await session.command(`EHLO ${options.ehloName}`);
          if (ehlo.code >= 300) throw new SessionError(ehlo.code === 421 ? "service-unavailable" : "protocol-error", `EHLO after STARTTLS refused: ${formatReply(ehlo)}`, [ehlo]);
          extensions = parseExtensions(ehlo);
          tlsMs = performance.now() - tlsStart;
        } else {
          errors++;
          transcript.add(id, "info", `STARTTLS offered but refused (${formatReply(go)}); going on in plaintext`);
        }
      }
      summary.tls = session.secure;
      return { session, greeting, ehlo, usedHelo, plainExtensions, extensions, starttlsOffered, tls: session.tlsInfo, timings: { connectMs, greetingMs, ehloMs, tlsMs }, errors };
    } catch (err) {
      const error = err instanceof SessionError ? err : new SessionError("protocol-error", String(err));
      if (session?.tlsInfo?.error) tlsFailure = session.tlsInfo;
      summary.status = error.status;
      summary.detail = error.message;
      summary.endedMs = transcript.now();
      if (session) {
        if (error.status === "greeting-rejected") await session.quit();
        else session.destroy();
      }
      throw error;
    }
  }

  function finish(pending: Pending, result: Omit<CaseResult, keyof CaseDefinition | "attempts" | "evidence">): void {
    const full: CaseResult = { ...pending.def, ...result, attempts: pending.attempts, evidence: false };
    results.set(full.id, full);
    emit({ type: "case-result", t: t(), server: key, result: judged(full) });
  }

  /** Runs one case on an open session. Returns false when the session is no longer usable. */
  async function runCase(opening: Opening, pending: Pending, last: boolean): Promise<boolean> {
    const { session } = opening;
    const { def } = pending;
    pending.attempts++;
    const pipelining = hasExtension(opening.extensions, "PIPELINING");
    const mailCmd = `MAIL FROM:<${def.mailFrom}>`;
    const rcptCmd = `RCPT TO:<${def.rcptTo}>`;
    const begin = performance.now();
    const base = { session: session.id, tls: session.secure };
    const done = (reply: SmtpReply, stage: "mail" | "rcpt", mailReply: SmtpReply) =>
      finish(pending, { ...base, outcome: outcomeOf(reply), stage, reply: pick(reply), mailReply: pick(mailReply), note: null, durationMs: round(performance.now() - begin) });
    // A refused MAIL decides the case even when a pipelined RCPT drew a 503 after it.
    const decide = (mailReply: SmtpReply, rcptReply: SmtpReply | undefined) =>
      mailReply.code >= 300 || !rcptReply ? done(mailReply, "mail", mailReply) : done(rcptReply, "rcpt", mailReply);
    let mail: SmtpReply | undefined;
    let rcpt: SmtpReply | undefined;
    try {
      // A sender already accepted is pipelined with its recipient; an untried sender goes alone,
      // so no RCPT follows a refused MAIL (Postfix counts the 503 as one more error).
      const senderKnown = def.mailFrom === workingSender;
      if (pipelining && senderKnown) {
        const replies = await session.pipeline(last ? [mailCmd, rcptCmd] : [mailCmd, rcptCmd, "RSET"]).catch((e: unknown) => {
          if (e instanceof SessionError) [mail, rcpt] = e.replies;
          throw e;
        });
        [mail, rcpt] = replies;
      } else {
        mail = await session.command(mailCmd);
        if (mail.code >= 200 && mail.code < 300) {
          const rest = pipelining && !last ? [rcptCmd, "RSET"] : [rcptCmd];
          const replies = await session.pipeline(rest).catch((e: unknown) => {
            if (e instanceof SessionError) [rcpt] = e.replies;
            throw e;
          });
          rcpt = replies[0];
          if (!pipelining && !last) await session.command("RSET");
        }
      }
    } catch (err) {
      if (!(err instanceof SessionError)) throw err;
      // The decisive reply may have come before the session ended.
      if (mail && mail.code !== 421 && (mail.code >= 300 || (rcpt && rcpt.code !== 421))) {
        if (mail.code >= 300) opening.errors++;
        decide(mail, rcpt);
      } else {
        requeue(pending, err.message);
      }
      return false;
    }
    mail = mail!;
    if (mail.code === 421 || rcpt?.code === 421) {
      requeue(pending, formatReply(rcpt?.code === 421 ? rcpt : mail));
      return false;
    }
    // (Unless TLS already failed here: then the 530 is simply the server refusing us.)
    if (mail.code === 530 && !opening.session.secure && opening.starttlsOffered && !tlsFailure) {
      // "Must issue a STARTTLS command first": the server relays, if at all, only over TLS.
      starttlsRequired = true;
      useStarttls = true;
      requeue(pending, formatReply(mail), true);
      return false;
    }
    if (mail.code >= 300) opening.errors++;
    if (rcpt && rcpt.code >= 300) opening.errors++;
    decide(mail, rcpt);
    return true;
  }

  function requeue(pending: Pending, why: string, free = false): void {
    if (free) pending.attempts--;
    if (pending.attempts >= MAX_ATTEMPTS) {
      finish(pending, { outcome: "error", stage: null, reply: null, mailReply: null, note: `no answer after ${pending.attempts} tries: ${why}`, session: null, tls: false, durationMs: null });
    } else {
      queue.unshift(pending);
    }
  }

  /** Step 2: our sender, else the null sender. Returns false when the session died. */
  async function findSender(opening: Opening): Promise<boolean> {
    const candidates = [`${options.senderLocalPart}@${options.senderDomain}`, ""];
    for (const candidate of candidates) {
      let reply: SmtpReply;
      try {
        reply = await opening.session.command(`MAIL FROM:<${candidate}>`);
        if (reply.code === 421) return false;
        if (reply.code === 530 && !opening.session.secure && opening.starttlsOffered && !tlsFailure) {
          starttlsRequired = true;
          useStarttls = true;
          return false;
        }
        if (reply.code >= 200 && reply.code < 300) {
          await opening.session.command("RSET");
          workingSender = candidate;
          break;
        }
        opening.errors++;
      } catch {
        return false;
      }
    }
    senderChecked = true;
    buildQueue();
    return true;
  }

  function buildQueue(): void {
    const caseCtx: CaseContext = {
      senderLocalPart: options.senderLocalPart,
      senderDomain: options.senderDomain,
      recipientLocalPart: options.recipientLocalPart,
      recipientDomain: options.recipientDomain,
      serverName: serverName(),
      ip: server.ip,
      targetDomain: ctx.target.kind === "domain" ? ctx.target.name : null,
    };
    const sender = workingSender ?? `${options.senderLocalPart}@${options.senderDomain}`;
    const recipient = recipientCases(caseCtx, sender);
    const ownDomain = ctx.target.kind === "domain" ? ctx.target.name : caseCtx.serverName;
    const token = options.randomToken?.() ?? randomBytes(6).toString("hex");
    const baseline = baselineCases(caseCtx, sender, ownDomain, scopesOf(recipient), token);
    const all = [...baseline, ...senderCases(caseCtx), ...recipient];
    catalogue.push(...all.map((d) => d.id));
    for (const def of all) {
      if (workingSender === null && def.group !== "sender") {
        results.set(def.id, skipped(def, "The server refused every sender we tried at MAIL FROM, so this case could not reach RCPT TO."));
      } else {
        queue.push({ def, attempts: 0 });
      }
    }
    notify();
  }

  /** Takes cases from the queue while the session's error budget lasts. */
  async function drain(opening: Opening): Promise<void> {
    const summary = sessions.find((s) => s.id === opening.session.id)!;
    while (!expired()) {
      if (!senderChecked) {
        if (senderSearch) {
          await changedPromise; // another session is looking for a sender
          continue;
        }
        senderSearch = true;
        const ok = await findSender(opening).finally(() => {
          senderSearch = false;
          notify();
        });
        if (!ok) break;
        continue;
      }
      if (queue.length === 0) {
        if (inFlight === 0) break;
        // Another session may hand a case back: wait for a change rather than quit early.
        await changedPromise;
        continue;
      }
      // One batch per session, reserved up front so parallel sessions split the queue evenly;
      // each case costs the server at most one error, so the batch stays under its limits.
      const batch = queue.splice(0, Math.max(1, limits.maxCasesPerSession - opening.errors));
      inFlight += batch.length;
      let alive = true;
      for (const [i, pending] of batch.entries()) {
        if (!alive || expired()) {
          const unrun = batch.slice(i);
          queue.unshift(...unrun);
          inFlight -= unrun.length;
          break;
        }
        summary.caseIds.push(pending.def.id);
        try {
          // Without a RSET after the last case the transaction stays open: the session ends then.
          alive = await runCase(opening, pending, i === batch.length - 1);
        } finally {
          inFlight--;
          notify();
        }
      }
      notify();
      break;
    }
    const s = opening.session;
    const alive = !s.closed;
    summary.status = alive ? "ok" : "closed";
    await s.quit();
    summary.endedMs = transcript.now();
    if (!alive) summary.detail ??= "the session ended early";
  }

  async function worker(index: number, opening: Opening | null): Promise<void> {
    let current = opening;
    while (!expired() && index < parallel) {
      if (!current && senderChecked && queue.length - claimed <= 0) {
        if (inFlight === 0) break;
        await changedPromise; // a case in flight elsewhere may come back
        continue;
      }
      let claim = 0;
      if (!current) {
        if (sessionCount >= limits.maxSessionsPerServer) break;
        claim = senderChecked ? Math.min(queue.length - claimed, limits.maxCasesPerSession) : 0;
        claimed += claim;
        try {
          current = await open(++sessionCount);
          openFailures = 0;
        } catch (err) {
          claimed -= claim;
          const error = err as SessionError;
          if (error.status === "service-unavailable") {
            if (index > 0 && parallel > 1) {
              // A second connection refused with 421: the server allows one at a time.
              parallel = 1;
              notify();
              break;
            }
            // Servers may count a connection for a moment after its QUIT: back off, then retry.
            if (busyRetries < MAX_BUSY_RETRIES) {
              await pause(Math.min(BUSY_BACKOFF_MS * 2 ** busyRetries++, deadline - performance.now()), options.signal);
              continue;
            }
          }
          if (error.status === "tls-failed" && useStarttls && !implicitTls) useStarttls = false;
          else if (++openFailures >= MAX_OPEN_FAILURES) break;
          continue;
        }
      }
      claimed -= claim;
      await drain(current);
      current = null;
    }
  }

  /** A worker drains the queue session after session; its end may unblock the others. */
  const spawn = (index: number, opening: Opening | null): Promise<void> => worker(index, opening).finally(notify);

  // Step 1: the first session; if it cannot be opened the server is unreachable.
  for (let attempt = 0; attempt < 2 && !first && !expired(); attempt++) {
    try {
      first = await open(++sessionCount);
    } catch (err) {
      const error = err as SessionError;
      firstFailure ??= error;
      if (error.status === "tls-failed" && !implicitTls) {
        useStarttls = false; // try again in plaintext: a broken TLS setup is a finding, not the end
        continue;
      }
      if (error.status === "service-unavailable") await pause(Math.min(BUSY_BACKOFF_MS * 4, deadline - performance.now()), options.signal);
      else if (error.status !== "closed" && error.status !== "reset") break;
    }
  }

  if (first) {
    const tasks = [spawn(0, first)];
    for (let i = 1; i < parallel; i++) tasks.push(spawn(i, null));
    await Promise.all(tasks);
  }

  // Whatever is left could not be run.
  const why = expired()
    ? options.signal?.aborted
      ? "the check was cancelled"
      : `the server's time budget (${Math.round(timeouts.serverTotalMs / 1000)} s) ran out`
    : "the server stopped accepting sessions";
  for (const pending of queue.splice(0)) {
    finish(pending, { outcome: "error", stage: null, reply: null, mailReply: null, note: `not run: ${why}`, session: null, tls: false, durationMs: null });
  }

  return buildReport();

  function judged(result: CaseResult): CaseResult {
    const catchAll = catchAllByScope();
    const evidence = isEvidence(result, result.outcome, catchAll);
    let note = result.note;
    if (result.outcome === "accepted" && result.group !== "baseline" && !evidence) {
      const scope = result.localScope === UNQUALIFIED_SCOPE ? "unqualified recipients" : result.localScope;
      note = catchAll[result.localScope ?? ""] === true
        ? `Not proof of relaying: the server accepts any recipient at ${scope} (catch-all).`
        : `Not proof of relaying: we could not tell whether the server accepts any recipient at ${scope}.`;
    }
    if (result.outcome === "tempfail" && isPolicyDeferral(result.reply)) {
      note = "A temporary refusal on policy grounds (Postfix's defer_unauth_destination answers so): relaying is refused, and a retry meets the same answer.";
    }
    return { ...result, evidence, note };
  }

  function catchAllByScope(): Record<string, boolean | null> {
    const map: Record<string, boolean | null> = {};
    for (const r of results.values()) {
      if (r.group !== "baseline" || r.id === "baseline-postmaster" || r.localScope === null) continue;
      map[r.localScope] = r.outcome === "accepted" ? true : r.outcome === "rejected" ? false : null;
    }
    return map;
  }

  function buildReport(): ServerReport {
    const catchAll = catchAllByScope();
    const cases = [...results.values()].map(judged);
    // No session at all and no failure: the check was cancelled (or out of time) before it began.
    const cancelled = options.signal?.aborted === true;
    const status: ConnectionStatus = first ? "ok" : (firstFailure?.status ?? (cancelled ? "aborted" : "timeout"));
    const statusDetail = first
      ? null
      : (firstFailure?.message ?? (cancelled ? "the check was cancelled before this server was tested" : "the time budget ran out before this server was tested"));
    const auth = first ? authOf(first) : { mechanisms: [], offeredBeforeTls: false };
    const names = first ? [firstWord(first.ehlo.text), firstWord(first.greeting.text), server.host].filter((n): n is string => !!n) : [server.host];
    const base = {
      status,
      statusDetail,
      cases: cases.sort((a, b) => catalogue.indexOf(a.id) - catalogue.indexOf(b.id)),
      baseline: {
        sender: workingSender,
        senderAccepted: workingSender !== null,
        ownDomain: first || senderChecked ? (ctx.target.kind === "domain" ? ctx.target.name : serverName()) : null,
        catchAll,
      },
    };
    const { verdict, reason } = serverVerdict(base);
    const report: ServerReport = {
      host: server.host,
      ip: server.ip,
      family: server.family,
      port: server.port,
      mxPreference: server.mxPreference,
      ptr: server.ptr,
      ptrMatches: server.ptrError ? null : server.confirmedPtr.some((n) => names.includes(n)),
      ...base,
      verdict,
      reason,
      banner: first ? first.greeting.text : null,
      greetingCode: first?.greeting.code ?? null,
      ehloName: first ? firstWord(first.ehlo.text) : null,
      usedHelo: first?.usedHelo ?? false,
      extensions: first?.extensions ?? [],
      pipelining: first ? hasExtension(first.extensions, "PIPELINING") : false,
      size: first ? sizeOf(first.extensions) : null,
      auth,
      starttls: { offered: first?.starttlsOffered ?? false, required: starttlsRequired },
      tls: first?.tls ?? tlsFailure,
      findings: [],
      timings: {
        connectMs: first ? round(first.timings.connectMs) : null,
        greetingMs: first ? round(first.timings.greetingMs) : null,
        ehloMs: first ? round(first.timings.ehloMs) : null,
        tlsMs: first?.timings.tlsMs != null ? round(first.timings.tlsMs) : null,
        totalMs: round(performance.now() - started),
      },
      sessions,
      transcript: transcript.lines,
      transcriptTruncated: transcript.truncated,
    };
    report.findings = serverFindings(report);
    return report;
  }
}

function skipped(def: CaseDefinition, note: string): CaseResult {
  return { ...def, outcome: "skipped", stage: null, reply: null, mailReply: null, evidence: false, note, session: null, tls: false, durationMs: null, attempts: 0 };
}

function authOf(opening: Opening): ServerReport["auth"] {
  const mechanisms = (exts: string[]) =>
    exts.filter((e) => /^AUTH[ =]/i.test(e)).flatMap((e) => e.slice(5).trim().split(/\s+/)).map((m) => m.toUpperCase());
  const plain = mechanisms(opening.plainExtensions);
  const all = [...new Set([...mechanisms(opening.extensions), ...plain])];
  // Offered in a session not (yet) protected by TLS: passwords could cross in clear.
  const plainSession = opening.tls === null || opening.tls.mode !== "implicit";
  return { mechanisms: all, offeredBeforeTls: plainSession && plain.length > 0 };
}

function sizeOf(extensions: string[]): number | null {
  const ext = extensions.find((e) => /^SIZE\b/i.test(e));
  if (!ext) return null;
  const n = Number(ext.split(/\s+/)[1]);
  return Number.isFinite(n) ? n : null;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
