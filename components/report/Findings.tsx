import { DISPLAY_NAMES, type Advice } from "@/lib/advice";
import type { Finding } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { CodeText } from "./CodeText";
import type { Tone } from "./labels";
import { visible } from "./visible";

export type ServerAdvice = Advice;

const SEVERITY: Record<string, { tone: Tone; label: string; icon: string }> = {
  critical: { tone: "danger", label: "Critical", icon: "✕" },
  warning: { tone: "warn", label: "Warning", icon: "!" },
  info: { tone: "info", label: "Note", icon: "i" },
};

function severity(s: string) {
  return SEVERITY[s] ?? { tone: "neutral" as const, label: s, icon: "•" };
}

/**
 * What is wrong and what to do: the advice for this server (software recognised, a fix per
 * problem in that software's own settings), or, without advice, the engine's findings.
 */
export function Findings({ findings, advice }: { findings: Finding[]; advice: ServerAdvice | null }) {
  // Advice already covers the engine's findings; without it, the findings are listed as they are.
  const bare = advice ? [] : findings;
  if (!bare.length && !advice?.items.length && !advice?.software) {
    return <p className="text-sm text-muted">Nothing else to report for this server.</p>;
  }
  return (
    <div className="space-y-3">
      {advice?.software ? (
        <p className="text-sm">
          Server software: <strong>{DISPLAY_NAMES[advice.software.name] ?? advice.software.name}</strong>{" "}
          <span className="text-muted">({advice.software.confidence} confidence)</span>
        </p>
      ) : null}
      {advice?.software?.evidence.length ? (
        <details className="text-sm">
          <summary className="text-muted">Why relaycheck thinks so</summary>
          <ul className="mt-1 list-disc pl-5 text-muted">
            {advice.software.evidence.map((e, i) => (
              <li key={i}>{visible(e)}</li>
            ))}
          </ul>
        </details>
      ) : advice ? (
        <p className="text-sm text-muted">Server software: not recognised — the advice below is general.</p>
      ) : null}
      <ul className="space-y-3">
        {advice?.items.map((item) => {
          const s = severity(item.severity);
          return (
            <li key={item.id} className="rounded border border-line p-3">
              <p className="flex flex-wrap items-baseline gap-2">
                <Badge tone={s.tone} icon={s.icon}>{s.label}</Badge>
                <strong>
                  <CodeText text={item.title} />
                </strong>
              </p>
              <p className="mt-1 text-sm">
                <CodeText text={item.detail} />
              </p>
              {item.fix ? (
                // The most severe fix is open; the others fold so the list stays readable.
                <details className="mt-2" open={item.severity === "critical"}>
                  <summary className="text-sm font-semibold">How to fix it on {item.fix.software}</summary>
                  <ol className="mt-1 list-decimal space-y-1 pl-5 text-sm">
                    {item.fix.steps.map((step, i) => (
                      <li key={i} className="whitespace-pre-wrap">
                        <CodeText text={step} />
                      </li>
                    ))}
                  </ol>
                  {item.fix.docs && /^https?:\/\//.test(item.fix.docs) ? (
                    <p className="mt-1 text-sm">
                      <a href={item.fix.docs} rel="noreferrer noopener">
                        Documentation for {item.fix.software}
                      </a>
                    </p>
                  ) : null}
                </details>
              ) : null}
            </li>
          );
        })}
        {bare.map((f) => {
          const s = severity(f.severity);
          return (
            <li key={f.id} className="flex flex-wrap items-baseline gap-2 rounded border border-line p-3 text-sm">
              <Badge tone={s.tone} icon={s.icon}>{s.label}</Badge>
              <span>{f.message}</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
