import type { Metadata } from "next";
import { getCheckServices, listChecksForTarget, type CheckHistoryItem } from "@/lib/checks";
import { normalizeTargetOrThrow } from "@/lib/checks/validate-target";
import { isAppError } from "@/lib/errors";
import { HistoryTable } from "@/components/report/HistoryTable";

interface Props {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export const metadata: Metadata = { title: "Checks of a target", robots: { index: false, follow: false } };

type Lookup = { name: string; items: CheckHistoryItem[] } | { error: string } | null;

async function lookUp(target: string | undefined): Promise<Lookup> {
  if (!target) return null;
  try {
    const { settings } = getCheckServices();
    const name = normalizeTargetOrThrow(target, settings.allowReservedNames).name;
    return { name, items: await listChecksForTarget(target) };
  } catch (e) {
    if (isAppError(e)) return { error: e.message };
    throw e;
  }
}

/**
 * GET /checks?target=<host>: the checks of one exact target, newest first, a changed verdict
 * marked. There is no list of all checks (reports are unlisted); without a target, the form that
 * asks for one (it works without JavaScript: a GET form to this page).
 */
export default async function ChecksOfTarget({ searchParams }: Props) {
  const q = await searchParams;
  const target = one(q.target)?.trim().slice(0, 255) || undefined;
  const found = await lookUp(target);
  const errorId = "history-target-error";
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold break-words sm:text-3xl">{found && "name" in found ? `Checks of ${found.name}` : "Checks of a mail server"}</h1>
      <form method="get" action="/checks" className="card flex flex-wrap items-end gap-3 p-4" role="search">
        <div className="grow space-y-1">
          <label htmlFor="history-target" className="block text-sm font-semibold">
            Mail server or domain
          </label>
          <input
            id="history-target"
            name="target"
            defaultValue={target ?? ""}
            required
            autoComplete="off"
            spellCheck={false}
            maxLength={255}
            className="min-h-11 w-full rounded-md border border-line bg-surface px-3 font-mono text-base text-ink"
            aria-invalid={found && "error" in found ? true : undefined}
            aria-describedby={found && "error" in found ? errorId : undefined}
          />
        </div>
        <button type="submit" className="btn min-h-11">
          Show its checks
        </button>
        {found && "error" in found ? (
          <p id={errorId} role="alert" className="basis-full text-sm text-danger">
            {found.error}
          </p>
        ) : null}
      </form>
      {found && "name" in found ? (
        <section aria-labelledby="history-list-h" className="card space-y-3 p-4 sm:p-6">
          <h2 id="history-list-h" className="text-xl font-bold">
            Newest first
          </h2>
          {found.items.length ? (
            <HistoryTable items={found.items} />
          ) : (
            <p>
              No checks of {found.name} yet. <a href={`/?target=${encodeURIComponent(found.name)}`}>Check it now</a>.
            </p>
          )}
          {found.items.length ? (
            <p className="text-sm">
              <a href={`/?target=${encodeURIComponent(found.name)}`}>Check {found.name} again</a>
              <span className="text-muted"> · for scripts: </span>
              <a href={`/api/v1/checks?target=${encodeURIComponent(found.name)}`}>these checks as JSON</a>
            </p>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
