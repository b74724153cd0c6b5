import { groupCases, plural } from "@/lib/advice/describe-cases";
import type { CaseResult } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { CaseMatrix } from "./CaseMatrix";
import { GROUP_RESULT } from "./labels";
import { ReplyText } from "./ReplyText";

/**
 * The relay tests of one server, one line per group of cases that got the same answer
 * ("17 cases · 554 5.7.1 Relaying denied"), most telling group first; each line opens to the
 * cases themselves, with the exact envelope and reply of each.
 */
export function CaseGroups({ cases, host, idPrefix }: { cases: CaseResult[]; host: string; idPrefix: string }) {
  const groups = groupCases(cases);
  return (
    <ul className="space-y-2">
      {groups.map((g) => {
        const label = GROUP_RESULT[g.result];
        return (
          <li key={g.key}>
            <details className="rounded border border-line" data-group={g.result}>
              <summary className="cm-group">
                <Badge tone={label.tone} icon={label.icon}>{label.label}</Badge>
                <strong>{plural(g.cases.length, "case")}</strong>
                <span aria-hidden="true" className="text-muted">·</span>
                {g.reply ? <ReplyText reply={g.reply} /> : <span className="text-muted">no reply</span>}
                {g.stage === "mail" ? <span className="text-xs text-muted">(to MAIL FROM)</span> : null}
              </summary>
              <div className="border-t border-line">
                <CaseMatrix cases={g.cases} caption={`${label.label}: ${plural(g.cases.length, "case")} on ${host}`} idPrefix={idPrefix} />
              </div>
            </details>
          </li>
        );
      })}
    </ul>
  );
}
