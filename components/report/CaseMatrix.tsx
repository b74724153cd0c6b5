import type { CaseResult } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatMs } from "./format";
import { GROUP_LABEL, outcomeLabel } from "./labels";
import { ReplyText } from "./ReplyText";
import { visible } from "./visible";

/**
 * The relay cases of one server: what we sent, what it answered, what that means. A table on
 * wide screens; on phones each row stacks into a card (cells keep their visible labels).
 * Shared by the server-rendered report and the live view, so it holds no state.
 */
export function CaseMatrix({ cases, caption, idPrefix }: { cases: CaseResult[]; caption: string; /** Keeps row ids unique across servers. */ idPrefix: string }) {
  const cell = "block md:table-cell px-3 py-1 md:py-2 align-top";
  const label = "block md:hidden text-xs font-semibold uppercase tracking-wide text-muted";
  return (
    <div className="md:overflow-x-auto">
      <table className="block md:table w-full border-collapse text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="sr-only md:not-sr-only md:table-header-group">
          <tr className="border-b border-line text-xs uppercase tracking-wide text-muted">
            <th scope="col" className="px-3 py-2 font-semibold">Case</th>
            <th scope="col" className="px-3 py-2 font-semibold">Envelope sent</th>
            <th scope="col" className="px-3 py-2 font-semibold">Server reply</th>
            <th scope="col" className="px-3 py-2 font-semibold">Result</th>
          </tr>
        </thead>
        <tbody className="block md:table-row-group">
          {cases.map((c) => {
            const o = outcomeLabel(c);
            return (
              <tr key={c.id} id={`${idPrefix}case-${c.id}`} data-outcome={c.outcome} className="grid grid-cols-1 md:table-row border-b border-line py-2 md:py-0 last:border-b-0">
                <th scope="row" className={`${cell} font-normal md:w-[24%]`}>
                  <span className="font-semibold">{c.title}</span>
                  <span className="block text-xs text-muted">
                    {GROUP_LABEL[c.group]}
                    {c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}
                    {c.tls ? " · over TLS" : ""}
                  </span>
                </th>
                <td className={`${cell} md:w-[30%]`}>
                  <span className={label}>Envelope sent</span>
                  <code className="block font-mono text-[0.8125rem] break-all">MAIL FROM:&lt;{visible(c.mailFrom)}&gt;</code>
                  <code className="block font-mono text-[0.8125rem] break-all">RCPT TO:&lt;{visible(c.rcptTo)}&gt;</code>
                </td>
                <td className={cell}>
                  <span className={label}>Server reply{c.stage ? ` (to ${c.stage === "mail" ? "MAIL FROM" : "RCPT TO"})` : ""}</span>
                  {c.reply ? <ReplyText reply={c.reply} /> : <span className="text-muted">no reply</span>}
                  {c.stage ? <span className="hidden md:block text-xs text-muted">answer to {c.stage === "mail" ? "MAIL FROM" : "RCPT TO"}</span> : null}
                </td>
                <td className={`${cell} row-start-2 md:w-[19%]`}>
                  <span className="sr-only md:hidden">Result: </span>
                  <Badge tone={o.tone} icon={o.icon}>{o.label}</Badge>
                  {c.durationMs != null ? <span className="ml-2 text-xs text-muted md:ml-0 md:block">{formatMs(c.durationMs)}</span> : null}
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
