import type { CheckHistoryItem } from "@/lib/checks/types";
import { Badge } from "@/components/ui/Badge";
import { formatUtc } from "./format";
import { STATUS, VERDICT } from "./labels";

/** Earlier (and later) checks of the same target, newest first; the current one is marked. */
export function History({ items, currentId }: { items: CheckHistoryItem[]; currentId: string }) {
  if (items.length <= 1) return <p className="text-sm text-muted">This is the only check of this target so far.</p>;
  return (
    <ol className="divide-y divide-line">
      {items.map((h) => {
        const v = h.verdict ? VERDICT[h.verdict] : null;
        const when = <time dateTime={h.finishedAt ?? h.createdAt}>{formatUtc(h.finishedAt ?? h.createdAt)}</time>;
        return (
          <li key={h.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 text-sm">
            {h.id === currentId ? (
              <span aria-current="page" className="font-semibold">{when} (this report)</span>
            ) : (
              <a href={h.url}>{when}</a>
            )}
            {v ? <Badge tone={v.tone} icon={v.icon}>{v.label}</Badge> : <Badge tone="neutral">{STATUS[h.status]}</Badge>}
          </li>
        );
      })}
    </ol>
  );
}
