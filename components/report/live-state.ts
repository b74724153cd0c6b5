import type { CaseResult, ServerReport, Verdict } from "@/lib/probe/types";
import type { CheckStatus, CheckStreamEvent, CheckView, CheckWait } from "@/lib/checks/types";
import { serverKey } from "./format";

/** One server as seen live: known from `resolved`, filled by `case-result`, closed by `server-done`. */
export interface LiveServer {
  key: string;
  host: string;
  ip: string;
  port: number;
  sessions: number;
  activity: string | null;
  cases: CaseResult[];
  report: ServerReport | null;
}

export interface LiveState {
  status: CheckStatus;
  queuePosition: number | null;
  servers: LiveServer[];
  finished: boolean;
  error: string | null;
  /** While the check waits for a follow-up (a re-check, a delivery): what for and until when. */
  waiting: CheckWait | null;
  /**
   * The verdict of the report so far, once a run ended with a wait: not final while the
   * follow-up is due or running (null before the first wait).
   */
  interim: { verdict: Verdict; reason: string } | null;
}

export function initialLiveState(view: CheckView): LiveState {
  return {
    status: view.status,
    queuePosition: view.queuePosition,
    servers: [
      // Finished servers are in `servers`; those still running (with their cases so far) in `pending`.
      ...view.servers.map((s) => ({
        key: serverKey(s.ip, s.port),
        host: s.host,
        ip: s.ip,
        port: s.port,
        sessions: s.sessions.length,
        activity: null,
        cases: s.cases,
        report: s,
      })),
      ...(view.pending ?? []).map((p) => ({ key: p.key, host: p.host, ip: p.ip, port: p.port, sessions: 0, activity: null, cases: p.cases, report: null })),
    ],
    finished: view.status === "done" || view.status === "failed",
    error: view.error?.message ?? null,
    waiting: view.waiting,
    interim: view.status === "waiting" && view.verdict ? { verdict: view.verdict, reason: view.reason ?? "" } : null,
  };
}

function upsert(servers: LiveServer[], key: string, make: () => LiveServer, change: (s: LiveServer) => LiveServer): LiveServer[] {
  const i = servers.findIndex((s) => s.key === key);
  if (i < 0) return [...servers, change(make())];
  const next = servers.slice();
  next[i] = change(servers[i]!);
  return next;
}

function fromKey(key: string): LiveServer {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(key);
  const ip = m?.[1] ?? key;
  return { key, host: ip, ip, port: Number(m?.[2] ?? 25), sessions: 0, activity: null, cases: [], report: null };
}

/**
 * Folds one stream event into the live state. Replays are harmless: a case is keyed by its id,
 * so an event seen twice (a reload, a reconnect) changes nothing.
 */
export function applyEvent(state: LiveState, e: CheckStreamEvent): LiveState {
  switch (e.type) {
    case "status":
      return { ...state, status: e.status, queuePosition: e.status === "queued" ? state.queuePosition : null };
    case "failed":
      return { ...state, status: "failed", finished: true, error: e.error.message };
    case "resolved": {
      let servers = state.servers;
      for (const s of e.servers) {
        servers = upsert(servers, s.key, () => ({ ...fromKey(s.key), host: s.host, ip: s.ip, port: s.port }), (x) => ({ ...x, host: s.host }));
      }
      return { ...state, status: "running", queuePosition: null, servers };
    }
    case "connected":
      return { ...state, servers: upsert(state.servers, e.server, () => fromKey(e.server), (x) => ({ ...x, sessions: Math.max(x.sessions, e.session), activity: `connected (session ${e.session}${e.tls ? ", TLS" : ""})` })) };
    case "reply":
      return {
        ...state,
        servers: upsert(state.servers, e.server, () => fromKey(e.server), (x) => ({ ...x, activity: `${e.reply.code} in reply to ${e.command ? e.command.split(/[\s:]/, 1)[0] : "connecting (greeting)"}` })),
      };
    case "case-result":
      return {
        ...state,
        status: "running",
        servers: upsert(state.servers, e.server, () => fromKey(e.server), (x) => {
          const i = x.cases.findIndex((c) => c.id === e.result.id);
          const cases = i < 0 ? [...x.cases, e.result] : x.cases.map((c, k) => (k === i ? e.result : c));
          return { ...x, cases };
        }),
      };
    case "server-done":
      return { ...state, servers: upsert(state.servers, e.server, () => fromKey(e.server), (x) => ({ ...x, report: e.report, cases: e.report.cases, activity: null })) };
    case "done":
      return { ...state, status: "done", finished: true, waiting: null };
    case "waiting": {
      // The report so far: every server it has is shown as finished until the follow-up runs.
      let servers = state.servers;
      for (const r of e.report.servers) {
        const key = serverKey(r.ip, r.port);
        servers = upsert(servers, key, () => ({ ...fromKey(key), host: r.host }), (x) => ({ ...x, report: r, cases: r.cases, activity: null }));
      }
      return { ...state, status: "waiting", waiting: e.wait, servers, interim: { verdict: e.report.verdict, reason: e.report.reason } };
    }
    case "resumed":
      return { ...state, status: "running", waiting: null };
    case "delivery":
      // The proof message arrived: the server's report now carries the proof and its verdict.
      return { ...state, servers: upsert(state.servers, e.server, () => ({ ...fromKey(e.server), host: e.report.host }), (x) => ({ ...x, report: e.report, cases: e.report.cases, activity: null })) };
    case "attempt":
      // A new run: what the lost run showed is void.
      return { ...state, status: "running", queuePosition: null, servers: [], finished: false, error: null, waiting: null, interim: null };
  }
}

export const STREAM_EVENT_TYPES: CheckStreamEvent["type"][] = ["status", "attempt", "resolved", "connected", "reply", "case-result", "server-done", "waiting", "resumed", "delivery", "done", "failed"];
