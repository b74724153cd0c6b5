/**
 * The service's view of a check: what `GET /api/v1/checks/<id>` returns, what the report page
 * renders, and what the SSE stream carries. The report part is the probe engine's `CheckReport`
 * (the same schema as the CLI's `--json`), filled in as the check runs.
 */
import type { CaseResult, CheckReport, ProbeEvent, ResolutionInfo, ServerReport, Verdict, NormalizedTarget } from "@/lib/probe/types";

/**
 * A check's lifecycle: queued → running → done | failed, with `waiting` between runs: the probe
 * has a report (stored, shown, its verdict may still change) and a follow-up is due at a set time
 * (a re-check of cases that got a temporary refusal, the end of a wait for a proof delivery).
 * Only `done` and `failed` are final.
 */
export const CHECK_STATUSES = ["queued", "running", "waiting", "done", "failed"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/**
 * What a waiting check waits for:
 * - "recheck": the cases that got a temporary refusal (greylisting) run again at `until`;
 * - "delivery": the proof message sent to relaycheck's sink may arrive until `until`.
 */
export const WAIT_REASONS = ["recheck", "delivery"] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** A check between runs (status `waiting`): why, until when, and what is next. */
export interface CheckWait {
  reason: WaitReason;
  /** ISO time the follow-up is due (the `resume-check` job runs then). */
  until: string;
  /** 1-based: the first wait of this reason is round 1 (a re-check after 6 min, the next after 16…). */
  round: number;
  /** The server keys concerned. */
  servers: string[];
  /** For people, e.g. "Re-checking at 12:41 UTC: 3 cases got a temporary refusal (greylisting)." */
  message: string;
}

/**
 * Why a check failed: the service's fault, never the target's (a failing target is a verdict).
 * A closed set: the worker and the reconciler write these, the API and the page show them.
 */
export const CHECK_FAILURE_CODES = [
  "internal", // the check job failed for good (retries used up)
  "probe_error", // the engine stopped unexpectedly
  "unavailable", // the check could not be queued
  "target_refused", // a port no longer allowed when the check ran
  "timeout", // the reconciler found it past its deadline (lib/checks/reconcile-checks.ts)
] as const;
export type CheckFailureCode = (typeof CHECK_FAILURE_CODES)[number];

export interface CheckFailure {
  code: CheckFailureCode;
  /** For people. */
  message: string;
}

export interface CheckLinks {
  /** The API resource. */
  self: string;
  /** Server-Sent Events stream. */
  events: string;
  /** The permalink page. */
  html: string;
  /** Earlier checks of the same target. */
  history: string;
}

export interface CheckView {
  id: string;
  status: CheckStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** 1-based place in the queue while queued, else null. */
  queuePosition: number | null;
  /** Why a check failed (infrastructure, not the target: a failing target is a verdict). */
  error: CheckFailure | null;
  /** Permalink path, e.g. "/checks/<id>". */
  url: string;
  links: CheckLinks;
  /** True when this view was reused for a recent check of the same target. */
  reused?: boolean;
  /** While `status` is "waiting": what for and until when; else null. */
  waiting: CheckWait | null;

  // The report, as far as it is known (same fields as the CLI's --json).
  schemaVersion: number;
  target: NormalizedTarget;
  options: CheckReport["options"] | null;
  verdict: Verdict | null;
  reason: string | null;
  durationMs: number | null;
  resolution: ResolutionInfo | null;
  servers: ServerReport[];
  /**
   * While the check runs: servers resolved but not finished yet, with the cases decided so far
   * (finished servers are in `servers`). Empty once the check is done.
   */
  pending?: PendingServer[];
}

/** A server whose probe is still running, as far as it is known. */
export interface PendingServer {
  key: string;
  host: string;
  ip: string;
  port: number;
  cases: CaseResult[];
}

/** Events on `GET /api/v1/checks/<id>/events`: the engine's events plus the service's own. */
export type CheckStreamEvent =
  | ProbeEvent
  | { type: "status"; t: number; status: CheckStatus }
  | { type: "failed"; t: number; error: CheckFailure }
  /**
   * A new run of the check begins (its earlier run was lost with its worker): what viewers saw
   * of the earlier run is void; the events after this one are the new run's.
   */
  | { type: "attempt"; t: number; attempt: number; reason: string }
  /**
   * The check has a report (stored, as a `done` would store it) but is not final: a follow-up is
   * due at `wait.until`. The status becomes "waiting"; viewers keep their stream open.
   */
  | { type: "waiting"; t: number; wait: CheckWait; report: CheckReport }
  /** The follow-up of a wait starts: the status is "running" again; a `waiting` or `done` follows. */
  | { type: "resumed"; t: number; reason: WaitReason; round: number }
  /**
   * A server's proof by delivery moved on (issue 12): the message was sent (or could not be),
   * arrived at relaycheck's sink, or did not arrive within the wait. `report` is the server's
   * report with its `proof` and verdict; on arrival the check's `done` follows.
   */
  | { type: "delivery"; t: number; server: string; report: ServerReport };

export interface CheckHistoryItem {
  id: string;
  status: CheckStatus;
  createdAt: string;
  finishedAt: string | null;
  verdict: Verdict | null;
  url: string;
}
