import type { CaseResult, ConnectionStatus, Verdict } from "@/lib/probe/types";
import type { GroupResult } from "@/lib/advice/describe-cases";
import type { CheckStatus } from "@/lib/checks/types";

/** Tone of a badge or banner: maps to the semantic colour tokens in globals.css. */
export type Tone = "danger" | "ok" | "warn" | "info" | "neutral";

export const TONE_CLASSES: Record<Tone, string> = {
  danger: "bg-danger-bg text-danger border-danger-line",
  ok: "bg-ok-bg text-ok border-ok-line",
  warn: "bg-warn-bg text-warn border-warn-line",
  info: "bg-info-bg text-info border-info-line",
  neutral: "bg-neutral-bg text-neutral border-neutral-line",
};

export const VERDICT: Record<Verdict, { label: string; tone: Tone; icon: string }> = {
  "open-relay": { label: "Open relay", tone: "danger", icon: "✕" },
  "not-open-relay": { label: "Not an open relay", tone: "ok", icon: "✓" },
  inconclusive: { label: "Inconclusive", tone: "warn", icon: "?" },
  unreachable: { label: "Unreachable", tone: "neutral", icon: "–" },
};

/**
 * A server's verdict badge. "Unreachable" is the engine's word for every server it could not
 * test; one that answered with a refusal is named for what it did.
 */
export function serverVerdictLabel(s: { verdict: Verdict; status: ConnectionStatus }): { label: string; tone: Tone; icon: string } {
  if (s.verdict === "unreachable" && s.status === "greeting-rejected") return { ...VERDICT.unreachable, label: "Refused us" };
  if (s.verdict === "unreachable" && s.status === "service-unavailable") return { ...VERDICT.unreachable, label: "Turned us away" };
  return VERDICT[s.verdict];
}

export const STATUS: Record<CheckStatus, string> = {
  queued: "Waiting in the queue",
  running: "Checking now",
  waiting: "Waiting to check again",
  done: "Finished",
  failed: "The check could not run",
};

export const CONNECTION_STATUS: Record<ConnectionStatus, string> = {
  ok: "talked SMTP and said goodbye",
  refused: "connection refused",
  "connect-timeout": "no answer to the connection attempt",
  unreachable: "network unreachable",
  reset: "connection reset by the server",
  closed: "the server closed the connection",
  timeout: "the server stopped answering",
  "greeting-rejected": "the server refused us in its greeting",
  "service-unavailable": "the server said it is unavailable (421)",
  "tls-failed": "the TLS handshake failed",
  "protocol-error": "the server broke the SMTP protocol",
  "policy-refused": "not tested: address not allowed",
  "rate-limited": "not tested: probed too often lately",
  aborted: "the check was cancelled",
};

export interface OutcomeLabel {
  label: string;
  tone: Tone;
  icon: string;
}

/**
 * What one case's outcome means. The colour is never the only signal: each label has its own
 * words and a symbol. An accept that is not evidence (catch-all, baseline) is not red.
 */
export function outcomeLabel(c: Pick<CaseResult, "outcome" | "evidence" | "group">): OutcomeLabel {
  switch (c.outcome) {
    case "accepted":
      if (c.group === "baseline") return { label: "Accepted", tone: "info", icon: "•" };
      if (!c.evidence) return { label: "Accepted — not evidence (catch-all)", tone: "warn", icon: "!" };
      return { label: "Accepted — relays", tone: "danger", icon: "✕" };
    case "rejected":
      return c.group === "baseline"
        ? { label: "Rejected", tone: "neutral", icon: "•" }
        : { label: "Rejected", tone: "ok", icon: "✓" };
    case "tempfail":
      return { label: "Temporary failure", tone: "warn", icon: "…" };
    case "error":
      return { label: "Error", tone: "neutral", icon: "!" };
    case "skipped":
      return { label: "Skipped", tone: "neutral", icon: "–" };
  }
}

export const GROUP_LABEL: Record<CaseResult["group"], string> = {
  baseline: "baseline",
  sender: "sender trick",
  recipient: "recipient trick",
};

/** What a group of cases with one reply means (lib/advice groupCases): words, colour, symbol. */
export const GROUP_RESULT: Record<GroupResult, OutcomeLabel> = {
  relayed: { label: "Relayed", tone: "danger", icon: "✕" },
  "not-evidence": { label: "Accepted, proves nothing (catch-all)", tone: "warn", icon: "!" },
  tempfail: { label: "Temporary failure", tone: "warn", icon: "…" },
  error: { label: "No answer", tone: "warn", icon: "!" },
  refused: { label: "Refused", tone: "ok", icon: "✓" },
  skipped: { label: "Not tried", tone: "neutral", icon: "–" },
  "baseline-accepted": { label: "Baseline: accepted", tone: "info", icon: "•" },
  "baseline-refused": { label: "Baseline: refused", tone: "info", icon: "•" },
  "baseline-other": { label: "Baseline: no clear answer", tone: "info", icon: "•" },
};

export const SEVERITY: Record<"critical" | "warning" | "info", { tone: Tone; label: string; icon: string }> = {
  critical: { tone: "danger", label: "Critical", icon: "✕" },
  warning: { tone: "warn", label: "Warning", icon: "!" },
  info: { tone: "info", label: "Note", icon: "i" },
};
