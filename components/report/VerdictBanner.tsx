import type { CheckView } from "@/lib/checks/types";
import { CopyButton } from "@/components/ui/CopyButton";
import type { CopyControl } from "@/components/ui/copy-button-props";
import { formatMs, formatUtc } from "./format";
import { serverVerdictLabel, TONE_CLASSES, VERDICT } from "./labels";

function targetLabel(view: CheckView): string {
  const t = view.target;
  return t.unicode && t.unicode !== t.name ? `${t.unicode} (${t.name})` : t.name;
}

const HEADLINE = {
  "open-relay": (t: string) => `${t} is an open relay`,
  "not-open-relay": (t: string) => `${t} is not an open relay`,
  inconclusive: (t: string) => `${t}: inconclusive`,
  unreachable: (t: string) => `${t} could not be reached`,
} as const;

/** "Unreachable" names the state the way a mail administrator would: refused, or gone. */
function headline(view: CheckView, target: string): string {
  const statuses = new Set(view.servers.map((s) => s.status));
  if (view.verdict === "unreachable" && statuses.size === 1) {
    if (statuses.has("greeting-rejected")) return `${target} refused our connection`;
    if (statuses.has("service-unavailable")) return `${target} turned us away (421)`;
  }
  return HEADLINE[view.verdict!](target);
}

/**
 * The answer first: verdict, what the servers did in a sentence or two (`summary`, from
 * lib/advice: counts and words, no case ids), the target, when, and the permalink.
 */
export function VerdictBanner({ view, summary, copy: Copy = CopyButton }: { view: CheckView; summary?: string; copy?: CopyControl }) {
  const target = targetLabel(view);
  const done = view.status === "done" && view.verdict;
  const only = view.servers.length > 0 && view.servers.every((s) => s.status === view.servers[0]!.status) ? view.servers[0]! : null;
  const v = done ? (only && view.verdict === "unreachable" ? serverVerdictLabel(only) : VERDICT[view.verdict!]) : null;
  const tone = v ? TONE_CLASSES[v.tone] : view.status === "failed" ? TONE_CLASSES.neutral : TONE_CLASSES.info;
  return (
    <section aria-labelledby="verdict-heading" className={`rounded-lg border-2 p-4 sm:p-6 ${tone}`}>
      <p className="text-sm font-semibold uppercase tracking-wide">
        {v ? (
          <>
            <span aria-hidden="true" className="mr-1">{v.icon}</span>Verdict: {v.label}
          </>
        ) : view.status === "waiting" && view.verdict ? (
          <span data-interim-verdict={view.verdict}>Interim verdict: {VERDICT[view.verdict].label} (not final)</span>
        ) : view.status === "failed" ? (
          "Check failed"
        ) : view.status === "queued" ? (
          "Queued"
        ) : (
          "Checking…"
        )}
      </p>
      <h1 id="verdict-heading" className="mt-1 text-2xl font-bold break-words sm:text-3xl">
        {done ? headline(view, target) : view.status === "failed" ? `The check of ${target} could not run` : `Checking ${target}`}
      </h1>
      <p className="mt-2 text-base text-ink">
        {done
          ? (summary ?? view.reason)
          : view.status === "failed"
            ? `${view.error?.message ?? "Something went wrong on our side."} This says nothing about the server; try again.`
            : view.status === "waiting" && view.waiting
              ? `${view.reason ?? ""} ${view.waiting.message}`.trim()
              : "The results appear below as each test completes."}
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-x-4 gap-y-2 text-sm text-ink">
        <span>
          Target <strong className="font-mono wrap-anywhere">{view.target.name}</strong>
          {view.target.input !== view.target.name ? <span className="text-muted"> (you typed “{view.target.input}”)</span> : null}
        </span>
        <span>
          {view.finishedAt ? "Ran " : "Requested "}
          <time dateTime={view.finishedAt ?? view.createdAt}>{formatUtc(view.finishedAt ?? view.createdAt)}</time>
          {view.durationMs != null ? ` · took ${formatMs(view.durationMs)}` : ""}
        </span>
        <Copy href={view.url} label="Copy permalink" />
      </div>
    </section>
  );
}
