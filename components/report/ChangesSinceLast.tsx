import { findPreviousCheckId, getCheckDiff } from "@/lib/checks/get-check-diff";
import type { CheckDiff } from "@/lib/checks/diff-checks";
import type { CheckView } from "@/lib/checks/types";
import { escapeText } from "@/lib/probe/escape-text";

/**
 * "What changed since the last check": this finished check compared with the latest finished
 * check of the same target before it (lib/checks/diff-checks.ts). A server component that loads
 * its own data, so the report mounts it with one line; it renders nothing for a check still
 * running, or for the first check of a target.
 */
export async function ChangesSinceLast({ view }: { view: Pick<CheckView, "id" | "status" | "createdAt" | "target"> }) {
  if (view.status !== "done") return null;
  const previousId = await findPreviousCheckId(view);
  if (!previousId) return null;
  const diff = await getCheckDiff(view.id, previousId);
  return <ChangeList diff={diff} />;
}

/** The section itself, from a diff (no data loading: usable anywhere). */
export function ChangeList({ diff }: { diff: CheckDiff }) {
  const important = diff.changed;
  const nothing = !important && [diff.serverVerdicts, diff.cases, diff.banners, diff.tls].every((list) => list.length === 0);
  const when = diff.from.finishedAt ?? diff.from.createdAt;
  return (
    <section aria-labelledby="changes-h" className="card space-y-3 p-4 sm:p-6" data-changed={important ? "yes" : "no"}>
      <h2 id="changes-h" className="text-xl font-bold">What changed since the last check</h2>
      <p className="text-sm text-muted">
        Compared with <a href={diff.from.url}>the check of <time dateTime={when}>{`${when.slice(0, 16).replace("T", " ")} UTC`}</time></a>
        {" · "}
        <a href={`/api/v1/checks/${encodeURIComponent(diff.to.id)}/diff?against=${encodeURIComponent(diff.from.id)}`}>as JSON</a>
      </p>
      {nothing ? (
        <p>Nothing changed: same verdict, same servers, every case answered as before.</p>
      ) : (
        <>
          {important ? <p className="font-semibold">The result changed.</p> : <p>The relay result is the same; some details changed.</p>}
          <ul className="list-disc space-y-1 pl-5">
            {diff.summary.map((line, i) => (
              <li key={i}>{escapeText(line)}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
