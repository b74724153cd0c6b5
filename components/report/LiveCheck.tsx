"use client";

import { useRouter } from "next/navigation";
import { useEffect, useMemo, useReducer, useState } from "react";
import type { CheckStreamEvent, CheckView } from "@/lib/checks/types";
import { CaseMatrix } from "./CaseMatrix";
import { plural, serverSlug } from "./format";
import { ServerHeading } from "./ServerHeading";
import { ProofOfDelivery } from "./ProofOfDelivery";
import { WaitingNotice } from "./WaitingNotice";
import { applyEvent, initialLiveState, STREAM_EVENT_TYPES } from "./live-state";
import { formatElapsed, inPlanOrder, plannedCaseIds } from "./live-progress";
import { VERDICT } from "./labels";
import type { LiveState } from "./live-state";

const REFRESH_RETRY_MS = 1000;
const REFRESH_RETRIES = 15;
const POLL_MS = 3000;
/** While queued, the place in the queue is read again this often (no event carries it). */
const QUEUE_POLL_MS = 3000;
/**
 * The server ends every stream after a while (SSE_MAX_LIFETIME_SECONDS) and the EventSource
 * comes back ~2 s later (the stream's `retry:`): say "reconnecting" only if that takes longer.
 */
const RETRY_NOTICE_MS = 5000;

/** The elapsed time on the page ticks this often. */
const CLOCK_TICK_MS = 1000;

/** Now, once a second, from the first render in the browser on (null on the server: no mismatch). */
function useNow(running: boolean): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    if (!running) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), CLOCK_TICK_MS);
    return () => window.clearInterval(timer);
  }, [running]);
  return now;
}

/** "Re-checking at 12:41 UTC (greylisting)", "Waiting for delivery of the proof message until 12:51 UTC". */
function waitHeadline(wait: NonNullable<LiveState["waiting"]>): string {
  const at = `${wait.until.slice(11, 16)} UTC`;
  return wait.reason === "recheck" ? `Re-checking at ${at} (greylisting)` : `Waiting for delivery of the proof message until ${at}`;
}

/**
 * Between runs, and while a follow-up runs: the verdict so far, marked as not final, and what is
 * due (the wait's message), outside the live region; the countdown is WaitingNotice's (read out
 * every second it would drown the rest).
 */
function FollowUp({ state }: { state: LiveState }) {
  const interim = state.interim!;
  const wait = state.waiting;
  return (
    <div className="mt-2 space-y-1 text-sm" data-follow-up={wait ? "waiting" : "running"} data-interim-verdict={interim.verdict} {...(wait ? { "data-until": wait.until } : {})}>
      <p>
        <strong>Interim verdict: {VERDICT[interim.verdict].label}</strong> <span className="text-muted">(not final)</span> — {interim.reason}
      </p>
      {wait ? (
        <p className="text-muted">
          {wait.message} This page updates by itself.
        </p>
      ) : (
        <p className="text-muted">The verdict updates when the re-check ends.</p>
      )}
    </div>
  );
}

/**
 * The running check: subscribes to the event stream and fills in each case as it completes.
 * EventSource reconnects by itself and sends Last-Event-ID, so the service replays only what we
 * missed; an event numbered at or below the last one applied is ignored all the same. On `done` the server-rendered report replaces this view (router.refresh); the refresh
 * is retried briefly in case the report is not yet readable when the event arrives.
 */
export function LiveCheck({ view }: { view: CheckView }) {
  const router = useRouter();
  const [state, dispatch] = useReducer(applyEvent, view, initialLiveState);
  const [connection, setConnection] = useState<"connecting" | "open" | "retrying" | "polling">("connecting");
  const [polledPosition, setPolledPosition] = useState<number | null>(null);
  const queued = state.status === "queued";

  useEffect(() => {
    if (!queued) return;
    const controller = new AbortController();
    const timer = window.setInterval(async () => {
      try {
        const res = await fetch(view.links.self, { signal: controller.signal, headers: { accept: "application/json" } });
        if (!res.ok) return;
        const fresh = (await res.json()) as Pick<CheckView, "status" | "queuePosition">;
        if (fresh.status === "queued") setPolledPosition(fresh.queuePosition);
      } catch {
        // Offline or aborted: the stream still tells us when the check starts.
      }
    }, QUEUE_POLL_MS);
    return () => {
      controller.abort();
      window.clearInterval(timer);
    };
  }, [queued, view.links.self]);
  const queuePosition = polledPosition ?? state.queuePosition;

  useEffect(() => {
    const source = new EventSource(view.links.events);
    let pollTimer: number | undefined;
    let noticeTimer: number | undefined;
    let lastSeq = 0;
    const onEvent = (msg: MessageEvent<string>) => {
      const seq = Number(msg.lastEventId);
      if (Number.isInteger(seq) && seq > 0) {
        if (seq <= lastSeq) return;
        lastSeq = seq;
      }
      let data: CheckStreamEvent;
      try {
        data = JSON.parse(msg.data) as CheckStreamEvent;
      } catch {
        return;
      }
      dispatch(data);
      if (data.type === "done" || data.type === "failed") source.close();
    };
    for (const type of STREAM_EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    source.onopen = () => {
      window.clearTimeout(noticeTimer);
      setConnection("open");
    };
    source.onerror = () => {
      window.clearTimeout(noticeTimer);
      if (source.readyState === EventSource.CLOSED) {
        // The stream is gone for good (an HTTP error): fall back to reloading the page data.
        setConnection("polling");
        pollTimer = window.setInterval(() => router.refresh(), POLL_MS);
      } else {
        noticeTimer = window.setTimeout(() => setConnection("retrying"), RETRY_NOTICE_MS);
      }
    };
    return () => {
      source.close();
      window.clearInterval(pollTimer);
      window.clearTimeout(noticeTimer);
    };
  }, [view.links.events, router]);

  useEffect(() => {
    if (!state.finished) return;
    router.refresh();
    let tries = 1;
    const timer = window.setInterval(() => {
      if (tries++ >= REFRESH_RETRIES) window.clearInterval(timer);
      else router.refresh();
    }, REFRESH_RETRY_MS);
    return () => window.clearInterval(timer);
  }, [state.finished, router]);

  const now = useNow(!state.finished);
  const since = Date.parse(view.startedAt ?? view.createdAt);
  // Outside the live region: a clock read out every second would drown the progress.
  const elapsed = now !== null && Number.isFinite(since) && !state.finished ? `${formatElapsed(now - since)} ${state.status === "queued" ? "waiting" : "elapsed"}` : null;
  const plans = useMemo(
    () => new Map(state.servers.map((s) => [s.key, plannedCaseIds(view.target, s)])),
    [state.servers, view.target],
  );
  // "N of M" per server: M from the engine's plan, never below what already came.
  const progress = state.servers.map((s) => ({ done: s.cases.length, total: s.report ? s.cases.length : Math.max(s.cases.length, plans.get(s.key)?.length ?? 0) }));
  const done = progress.reduce((n, p) => n + p.done, 0);
  const total = progress.reduce((n, p) => n + p.total, 0);
  const serversDone = state.servers.filter((s) => s.report).length;
  return (
    <div className="space-y-6" data-live-status={state.status}>
      <div className="card p-4" >
        <p role="status" aria-live="polite" className="font-semibold">
          {state.status === "queued"
            ? `Waiting in the queue${queuePosition ? `: position ${queuePosition}` : ""}…`
            : state.status === "failed"
              ? `The check could not run: ${state.error ?? "unknown error"}`
              : state.status === "waiting" && state.waiting
                ? `${waitHeadline(state.waiting)}.`
                : state.interim && !state.finished
                  ? "Re-checking the cases that got a temporary refusal…"
              : state.finished
                ? "Finished — loading the full report…"
                : state.servers.length
                  ? `Testing ${plural(state.servers.length, "server")}: ${done} of ${plural(total, "test")} done${serversDone ? `, ${serversDone} of ${state.servers.length} servers finished` : ""}…`
                  : "Looking up the target's mail servers…"}
        </p>
        {state.interim && !state.finished ? <FollowUp state={state} /> : null}
        {elapsed ? (
          <p className="text-sm text-muted" data-elapsed>
            {elapsed}
          </p>
        ) : null}
        {state.status === "waiting" && state.waiting ? <WaitingNotice wait={state.waiting} now={now} /> : null}
        {connection === "retrying" ? <p className="text-sm text-muted">Live connection interrupted; reconnecting…</p> : null}
        {connection === "polling" ? <p className="text-sm text-muted">Live updates are unavailable; this page reloads its data every few seconds.</p> : null}
        {state.finished && state.status === "done" ? (
          <p className="text-sm text-muted">
            If the report does not appear, <a href={view.url}>reload the page</a>.
          </p>
        ) : null}
        <noscript>
          <p className="text-sm">This page updates live with JavaScript. Without it, reload the page to see progress.</p>
        </noscript>
      </div>
      {state.servers.map((s, i) => {
        const slug = serverSlug(s.ip, s.port);
        const cases = inPlanOrder(s.cases, plans.get(s.key) ?? []);
        return (
          <section key={s.key} aria-labelledby={`${slug}-h`} className="card space-y-4 p-4 sm:p-6">
            {s.report ? (
              <ServerHeading server={s.report} headingId={`${slug}-h`} />
            ) : (
              <header className="space-y-1">
                <h2 id={`${slug}-h`} className="text-xl font-bold break-words">
                  {s.host} <span className="font-mono text-base font-normal text-muted">{s.key}</span>
                </h2>
                <p className="text-sm text-muted" data-progress={`${progress[i]!.done}/${progress[i]!.total}`}>
                  {s.cases.length ? `${progress[i]!.done} of ${plural(progress[i]!.total, "test")} done` : "Connecting"}
                  {s.activity ? ` · last: ${s.activity}` : ""}
                </p>
              </header>
            )}
            {s.report?.proof ? <ProofOfDelivery proof={s.report.proof} /> : null}
            {cases.length ? <CaseMatrix cases={cases} caption={`Relay tests on ${s.host} so far`} idPrefix={`${slug}-`} /> : null}
          </section>
        );
      })}
    </div>
  );
}
