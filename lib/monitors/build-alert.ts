/**
 * An alert's content: the webhook body (AlertPayload, stored with the delivery so every try
 * sends the same bytes' meaning) and the email made from it. Links are absolute, under
 * PUBLIC_URL. Names that came from DNS or a server pass through escapeText before they reach an
 * email, so no control or bidi character reaches a mail client.
 */
import { escapeText } from "@/lib/probe/escape-text";
import { verdictWords, type CheckDiff } from "@/lib/checks/diff-checks";
import type { CheckView } from "@/lib/checks/types";
import type { AlertKind, AlertPayload } from "./monitor-schema";

export interface AlertMonitor {
  id: string;
  target: string;
  ports: number[];
  intervalSeconds: number;
}

export interface AlertInput {
  deliveryId: string;
  kind: AlertKind;
  monitor: AlertMonitor;
  check: Pick<CheckView, "id" | "verdict" | "finishedAt"> | null;
  previousCheck: Pick<CheckView, "id" | "verdict" | "finishedAt"> | null;
  diff: CheckDiff | null;
  publicUrl: string;
  now?: Date;
}

export function buildAlertPayload(input: AlertInput): AlertPayload {
  const { publicUrl, monitor } = input;
  const ref = (c: AlertInput["check"]) => (c ? { id: c.id, url: `${publicUrl}/checks/${c.id}`, verdict: c.verdict, finishedAt: c.finishedAt } : null);
  const summary =
    input.kind === "test"
      ? [`This is a test alert of the monitor of ${monitor.target}.`, input.check ? `Its latest verdict: ${verdictWords(input.check.verdict)}.` : "It has not checked yet."]
      : (input.diff?.summary ?? []);
  return {
    type: input.kind === "test" ? "monitor.test" : "monitor.changed",
    deliveryId: input.deliveryId,
    createdAt: (input.now ?? new Date()).toISOString(),
    monitor: { id: monitor.id, target: monitor.target, ports: monitor.ports, interval: monitor.intervalSeconds, url: `${publicUrl}/api/v1/monitors/${monitor.id}` },
    check: ref(input.check),
    previousCheck: ref(input.previousCheck),
    diff: input.diff,
    summary,
  };
}

export interface AlertEmail {
  subject: string;
  text: string;
}

/** The email of an alert: plain text, the summary first, then the links. */
export function alertEmailOf(payload: AlertPayload): AlertEmail {
  const target = escapeText(payload.monitor.target);
  const d = payload.diff;
  const subject =
    payload.type === "monitor.test"
      ? `[relaycheck] Test alert for ${target}`
      : d?.verdict
        ? `[relaycheck] ${target}: ${verdictWords(d.verdict.from)} → ${verdictWords(d.verdict.to)}`
        : `[relaycheck] ${target}: the check result changed`;
  const lines = [
    payload.type === "monitor.test" ? `A test of your relaycheck monitor of ${target}.` : `Your relaycheck monitor of ${target} saw a change.`,
    "",
    ...payload.summary.map((s) => `- ${escapeText(s)}`),
    "",
  ];
  if (payload.check) lines.push(`Report: ${payload.check.url}`);
  if (payload.previousCheck) lines.push(`Previous report: ${payload.previousCheck.url}`);
  lines.push(`Monitor: ${payload.monitor.url} (every ${formatInterval(payload.monitor.interval)})`, "", `Alert ${payload.deliveryId}`);
  return { subject, text: lines.join("\n") };
}

function formatInterval(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? "day" : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} hours`;
  return `${seconds} s`;
}
