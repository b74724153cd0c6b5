import type { CheckHistoryItem } from "@/lib/checks/types";
import { Badge } from "@/components/ui/Badge";
import { formatUtc } from "./format";
import { STATUS, VERDICT } from "./labels";

/**
 * The checks of one target, newest first, as a table: when, the verdict, and whether the verdict
 * changed from the check before it (a finished one), so a server that was closed and is open
 * now, or was fixed, stands out.
 */
export function HistoryTable({ items }: { items: CheckHistoryItem[] }) {
  const changes = verdictChanges(items);
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-left text-sm">
        <caption className="sr-only">Checks of this target, newest first</caption>
        <thead>
          <tr className="border-b border-line text-xs uppercase tracking-wide text-muted">
            <th scope="col" className="px-3 py-2 font-semibold">Checked</th>
            <th scope="col" className="px-3 py-2 font-semibold">Result</th>
            <th scope="col" className="px-3 py-2 font-semibold">Change</th>
          </tr>
        </thead>
        <tbody>
          {items.map((h) => {
            const v = h.verdict ? VERDICT[h.verdict] : null;
            const before = changes.get(h.id);
            return (
              <tr key={h.id} className={`border-b border-line last:border-b-0 ${before ? "bg-warn-bg" : ""}`} data-changed={before ? "true" : undefined}>
                <th scope="row" className="px-3 py-2 font-normal">
                  <a href={h.url}>
                    <time dateTime={h.finishedAt ?? h.createdAt}>{formatUtc(h.finishedAt ?? h.createdAt)}</time>
                  </a>
                </th>
                <td className="px-3 py-2">{v ? <Badge tone={v.tone} icon={v.icon}>{v.label}</Badge> : <Badge tone="neutral">{STATUS[h.status]}</Badge>}</td>
                <td className="px-3 py-2">
                  {before ? (
                    <strong className="text-warn">
                      <span aria-hidden="true">⇄ </span>changed: was {VERDICT[before].label.toLowerCase()}
                    </strong>
                  ) : (
                    <span className="text-muted">–</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Check id → the verdict of the finished check before it, when that verdict was different. */
export function verdictChanges(items: CheckHistoryItem[]): Map<string, NonNullable<CheckHistoryItem["verdict"]>> {
  const changes = new Map<string, NonNullable<CheckHistoryItem["verdict"]>>();
  const finished = items.filter((h) => h.verdict !== null);
  finished.forEach((h, i) => {
    const older = finished[i + 1];
    if (older && older.verdict !== h.verdict) changes.set(h.id, older.verdict!);
  });
  return changes;
}
