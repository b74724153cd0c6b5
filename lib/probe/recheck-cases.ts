import { catchAllByScope, judgeCase } from "./build-server-report";
import { resolveOptions, type ProbeOptionsInput } from "./options";
import { probeServer, serverKey } from "./probe-server";
import type { ServerTarget } from "./resolve-target";
import { checkVerdict, isPolicyDeferral, serverVerdict } from "./verdict";
import type { CaseAttempt, CaseDefinition, CaseResult, CheckReport, ProbeEvent, ServerKey, ServerReport, TranscriptLine } from "./types";

/**
 * The automatic re-check of cases that got a temporary refusal (greylisting: postgrey and the
 * like pass the same client, sender and recipient once a few minutes have passed). The service
 * runs it as a delayed job between the check's rounds, the CLI after `--retry-tempfail`; both
 * call the same three functions:
 * - `recheckPlan`: which servers and cases a later session could decide;
 * - `recheckCases`: runs only those cases against the same address and port (no new DNS), under
 *   the same target policy, server slot and abort signal as a probe, and
 * - folds the answers into the report (`mergeServerRecheck`): a re-run case replaces its result
 *   and keeps its earlier tries in `earlier`; the sessions and transcript of the round are
 *   appended (renumbered, within the transcript caps); server and check verdicts are made again
 *   by the engine's own verdict functions.
 * Like every probe it never sends DATA.
 */

/** A server a re-check would run again, and which of its cases. */
export interface RecheckServerPlan {
  key: ServerKey;
  caseIds: string[];
}

/** A temporary refusal that a later session could turn into an answer: not a policy deferral. */
export function isRecheckable(c: Pick<CaseResult, "outcome" | "reply">): boolean {
  return c.outcome === "tempfail" && !isPolicyDeferral(c.reply);
}

/**
 * What a re-check would run: on each server left inconclusive by relay cases that got a temporary
 * refusal, those cases and its baseline cases that got one (they decide whether an accepted trick
 * proves anything). Nothing when the check is an open relay already: no answer would change it.
 */
export function recheckPlan(report: Pick<CheckReport, "verdict" | "servers">): RecheckServerPlan[] {
  if (report.verdict === "open-relay") return [];
  const plan: RecheckServerPlan[] = [];
  for (const server of report.servers) {
    if (server.verdict !== "inconclusive" || server.status !== "ok") continue;
    const cases = server.cases.filter(isRecheckable);
    if (!cases.some((c) => c.group !== "baseline")) continue;
    plan.push({ key: serverKey(server.ip, server.port), caseIds: cases.map((c) => c.id) });
  }
  return plan;
}

/** "3 cases" over all servers of a plan. */
export function plannedCaseCount(plan: RecheckServerPlan[]): number {
  return plan.reduce((n, s) => n + s.caseIds.length, 0);
}

export interface RecheckRound {
  /** 1 for the first re-check, 2 for the next… */
  round: number;
  /** When this round starts (default: now). */
  at?: Date;
}

/** Different addresses are re-checked side by side, like a probe's. */
const PARALLEL_ADDRESSES = 3;

/**
 * Runs a re-check round of `report` (`plan`, default `recheckPlan(report)`) and returns the report
 * with the answers folded in. `emit` sees the round's events as a probe's (`connected`, `reply`,
 * `case-result`, then `server-done` with the merged server report), its sessions numbered after
 * the server's earlier ones; no `done`: whether the check ends is the caller's call. A server the
 * target policy now refuses, or the slot of which is refused, keeps its report as it was.
 */
export async function recheckCases(
  report: CheckReport,
  optionsInput: ProbeOptionsInput,
  round: RecheckRound,
  emit: (event: ProbeEvent) => void = () => {},
  plan: RecheckServerPlan[] = recheckPlan(report),
): Promise<CheckReport> {
  const options = resolveOptions(optionsInput);
  const at = (round.at ?? new Date()).toISOString();
  const started = performance.now();
  const byKey = new Map(report.servers.map((s) => [serverKey(s.ip, s.port), s]));
  const merged = new Map<ServerKey, ServerReport>();
  const todo = plan.filter((p) => byKey.has(p.key) && p.caseIds.length > 0);

  let next = 0;
  const lanes = Array.from({ length: Math.min(PARALLEL_ADDRESSES, todo.length) }, async () => {
    while (next < todo.length && !options.signal?.aborted) {
      const item = todo[next++]!;
      const stored = byKey.get(item.key)!;
      const result = await recheckServer(stored, item.caseIds, report, options, { round: round.round, at }, started, emit);
      if (result) {
        merged.set(item.key, result);
        emit({ type: "server-done", t: Math.round(performance.now() - started), server: item.key, report: result });
      }
    }
  });
  await Promise.all(lanes);

  const servers = report.servers.map((s) => merged.get(serverKey(s.ip, s.port)) ?? s);
  const { verdict, reason } = servers.length ? checkVerdict(servers, report.reason) : { verdict: report.verdict, reason: report.reason };
  return {
    ...report,
    finishedAt: new Date().toISOString(),
    durationMs: report.durationMs + Math.round(performance.now() - started),
    verdict,
    reason,
    servers,
  };
}

/** One server's round; null when it may not be probed now (policy, slot refused). */
async function recheckServer(
  stored: ServerReport,
  caseIds: string[],
  report: CheckReport,
  options: ReturnType<typeof resolveOptions>,
  round: { round: number; at: string },
  started: number,
  emit: (event: ProbeEvent) => void,
): Promise<ServerReport | null> {
  if (!options.addressPolicy(stored.ip, stored.port).allowed) return null;
  const wanted = new Set(caseIds);
  const cases: CaseDefinition[] = stored.cases.filter((c) => wanted.has(c.id)).map(definitionOf);
  if (cases.length === 0) return null;
  const server: ServerTarget = {
    host: stored.host,
    ip: stored.ip,
    family: stored.family,
    port: stored.port,
    mxPreference: stored.mxPreference,
    ptr: stored.ptr,
    confirmedPtr: stored.names?.fcrdns ?? [],
    ptrError: null,
  };
  const offset = lastSessionOf(stored);
  const before = new Map(stored.cases.map((c) => [c.id, c]));
  const forward = (e: ProbeEvent) => {
    if (e.type === "connected" || e.type === "reply") emit({ ...e, session: e.session + offset });
    else if (e.type === "case-result") emit({ ...e, result: mergeCase(before.get(e.result.id), e.result, offset, round, report.startedAt) });
    else emit(e);
  };
  const ctx = { target: report.target, options, emit: forward, checkStarted: started, only: { cases, sender: stored.baseline.sender } };
  const slot = await options.acquireServerSlot?.(server.ip, server.port);
  if (slot && typeof slot === "object") return null;
  let rerun: ServerReport;
  try {
    rerun = await probeServer(server, ctx);
  } finally {
    await slot?.();
  }
  return mergeServerRecheck(stored, rerun, { ...round, checkStartedAt: report.startedAt, limits: options.limits });
}

/** The definition a stored case ran with: its MAIL FROM as last sent (greylisting keys on it). */
function definitionOf(c: CaseResult): CaseDefinition {
  return { id: c.id, title: c.title, group: c.group, mailFrom: c.mailFrom, rcptTo: c.rcptTo, localScope: c.localScope, ...(c.nmap !== undefined ? { nmap: c.nmap } : {}) };
}

function lastSessionOf(server: Pick<ServerReport, "sessions" | "transcript">): number {
  let last = 0;
  for (const s of server.sessions) last = Math.max(last, s.id);
  for (const l of server.transcript) last = Math.max(last, l.session);
  return last;
}

/** A case's try as kept in the history of a re-checked case. */
function attemptOf(c: CaseResult, checkStartedAt: string): CaseAttempt {
  return {
    round: c.recheck?.round ?? 0,
    at: c.recheck?.at ?? checkStartedAt,
    mailFrom: c.mailFrom,
    outcome: c.outcome,
    stage: c.stage,
    reply: c.reply,
    session: c.session,
    note: c.note,
  };
}

/** A re-run case's new result: its session renumbered, the round noted, its earlier tries kept. */
function mergeCase(old: CaseResult | undefined, fresh: CaseResult, offset: number, round: { round: number; at: string }, checkStartedAt: string): CaseResult {
  const earlier = old ? [...(old.earlier ?? []), attemptOf(old, checkStartedAt)] : (fresh.earlier ?? []);
  return {
    ...fresh,
    session: fresh.session === null ? null : fresh.session + offset,
    recheck: { round: round.round, at: round.at },
    ...(earlier.length ? { earlier } : {}),
  };
}

export interface MergeRound {
  round: number;
  /** ISO time the round started. */
  at: string;
  /** The check's startedAt: the time of the first probe's tries, and the transcript's zero. */
  checkStartedAt: string;
  limits: { maxTranscriptLines: number; maxTranscriptBytes: number };
}

/**
 * Folds a re-check round's report of one server (`rerun`, holding only the re-run cases) into
 * the server's report: same case ids replaced (each keeping its earlier tries), sessions and
 * transcript appended after the earlier ones (numbered on, times from the check's start, within
 * the caps), catch-all, evidence and the verdict decided again from all the cases.
 */
export function mergeServerRecheck(stored: ServerReport, rerun: ServerReport, round: MergeRound): ServerReport {
  const offset = lastSessionOf(stored);
  const shift = Math.max(0, Date.parse(round.at) - Date.parse(round.checkStartedAt));
  const fresh = new Map(rerun.cases.map((c) => [c.id, c]));
  const all = stored.cases.map((c) => {
    const f = fresh.get(c.id);
    return f ? mergeCase(c, f, offset, round, round.checkStartedAt) : c;
  });
  const cases = all.map((c) => judgeCase(c, all));
  const baseline = { ...stored.baseline, catchAll: catchAllByScope(all) };
  const { verdict, reason } = serverVerdict({ status: stored.status, statusDetail: stored.statusDetail, cases, baseline, ...(stored.rateLimit ? { rateLimit: stored.rateLimit } : {}) });

  const sessions = [
    ...stored.sessions,
    ...rerun.sessions.map((s) => ({ ...s, id: s.id + offset, startedMs: s.startedMs + shift, endedMs: s.endedMs + shift })),
  ];
  const note: TranscriptLine = {
    session: offset + 1,
    t: shift,
    dir: "info",
    line: `re-check round ${round.round} at ${round.at}: ${rerun.cases.length === 1 ? "1 case" : `${rerun.cases.length} cases`} that got a temporary refusal run again`,
  };
  const { lines, truncated } = appendCapped(stored.transcript, [note, ...rerun.transcript.map((l) => ({ ...l, session: l.session + offset, t: l.t + shift }))], round.limits);
  return {
    ...stored,
    verdict,
    reason,
    baseline,
    cases,
    sessions,
    transcript: lines,
    transcriptTruncated: stored.transcriptTruncated || rerun.transcriptTruncated || truncated,
    timings: { ...stored.timings, totalMs: stored.timings.totalMs + rerun.timings.totalMs },
  };
}

/** `more` after `lines` while the caps allow (as Transcript.add keeps them); whether any was left out. */
function appendCapped(lines: TranscriptLine[], more: TranscriptLine[], limits: MergeRound["limits"]): { lines: TranscriptLine[]; truncated: boolean } {
  const out = lines.slice();
  let bytes = lines.reduce((n, l) => n + l.line.length, 0);
  let truncated = false;
  for (const l of more) {
    if (out.length >= limits.maxTranscriptLines || bytes + l.line.length > limits.maxTranscriptBytes) {
      truncated = true;
      continue;
    }
    bytes += l.line.length;
    out.push(l);
  }
  return { lines: out, truncated };
}
