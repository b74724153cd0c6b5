import type { CaseResult } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatMs } from "./format";
import { GROUP_LABEL, outcomeLabel } from "./labels";
import { ReplyText } from "./ReplyText";
import { visible } from "./visible";

/**
 * The relay cases of one server: what we sent, what it answered, what that means. A table on
 * wide screens; on phones each row stacks into a card (cells keep their visible labels, which
 * app/globals.css writes, rather than the same words in every row's HTML).
 * Shared by the server-rendered report and the live view, so it holds no state.
 */
export function CaseMatrix({ cases, caption, idPrefix }: { cases: CaseResult[]; caption: string; /** Keeps row ids unique across servers. */ idPrefix: string }) {
  // Short names (app/globals.css, which also styles the cells and writes their labels on phones):
  // these repeat for every case.
  return (
    <div className="md:overflow-x-auto">
      <table className="cm-table">
        <caption className="sr-only">{caption}</caption>
        <thead className="cm-head">
          <tr>
            <th scope="col">Case</th>
            <th scope="col">Envelope sent</th>
            <th scope="col">Server reply</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody className="cm-body">
          {cases.map((c) => {
            const o = outcomeLabel(c);
            return (
              <tr key={c.id} id={`${idPrefix}case-${c.id}`} data-outcome={c.outcome} className="cm-row">
                <th scope="row" className="cm-case">
                  <span>{c.title}</span>
                  <span className="cm-kind">
                    {GROUP_LABEL[c.group]}
                    {c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}
                    {c.tls ? " · over TLS" : ""}
                  </span>
                </th>
                <td className="cm-envelope">
                  <code>MAIL FROM:&lt;{visible(c.mailFrom)}&gt;</code>
                  <code>RCPT TO:&lt;{visible(c.rcptTo)}&gt;</code>
                </td>
                <td className="cm-reply">
                  {c.reply ? <ReplyText reply={c.reply} /> : <span className="text-muted">no reply</span>}
                  {c.stage ? <span className="cm-stage">answer to {c.stage === "mail" ? "MAIL FROM" : "RCPT TO"}</span> : null}
                </td>
                <td className="cm-result">
                  <Badge tone={o.tone} icon={o.icon}>{o.label}</Badge>
                  {c.durationMs != null ? <span className="cm-took">{formatMs(c.durationMs)}</span> : null}
                  {c.note ? <span className="mt-1 block text-xs text-muted">{visible(c.note)}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
