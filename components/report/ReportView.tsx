import type { Advice } from "@/lib/advice";
import { summarizeCheck } from "@/lib/advice/summarize-server";
import type { CheckDiff } from "@/lib/checks/diff-checks";
import type { CheckHistoryItem, CheckView } from "@/lib/checks/types";
import type { ServerReport } from "@/lib/probe/types";
import type { CopyControl } from "@/components/ui/copy-button-props";
import { CheckAgain } from "./CheckAgain";
import { ChangeList, ChangesSinceLast } from "./ChangesSinceLast";
import { History } from "./History";
import { serverSlug } from "./format";
import { HowTested } from "./HowTested";
import { LiveCheck } from "./LiveCheck";
import { ServerSection } from "./ServerSection";
import { VerdictBanner } from "./VerdictBanner";
import { WhatToDo } from "./WhatToDo";

/** Advice per server (lib/advice adviseServer). */
type Advise = (server: ServerReport) => Advice;

interface Props {
  view: CheckView;
  history: CheckHistoryItem[];
  advise: Advise;
}

function Block({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section aria-labelledby={id} className="card space-y-3 p-4 sm:p-6">
      <h2 id={id} className="text-xl font-bold">{title}</h2>
      {children}
    </section>
  );
}

/**
 * The permalink page's body, fix first: the verdict and what the servers did, what to do about
 * it, then the evidence per server (counts, the relay tests grouped by reply, facts, timeline,
 * transcript), then how it was tested, checking again and the target's history.
 *
 * This is the whole page in React, as a check that is queued, running or waiting is shown. A finished
 * check's page (app/checks/[id]/page.tsx) shows the same: `FinishedReport` rendered once to
 * HTML and kept, then `ReportActions`.
 */
export function ReportView({ view, history, advise }: Props) {
  const live = view.status === "queued" || view.status === "running" || view.status === "waiting";
  if (!live) {
    return (
      <div className="space-y-6">
        <VerdictBanner view={view} summary={summaryOf(view)} />
        <ChangesSinceLast view={view} />
        <Evidence view={view} advise={advise} />
        <ReportActions view={view} history={history} />
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <VerdictBanner view={view} />
      <LiveCheck view={view} />
      <HowTestedBlock view={view} />
      <ReportActions view={view} history={history} />
    </div>
  );
}

const summaryOf = (view: CheckView) => (view.status === "done" ? summarizeCheck(view.servers, view.reason) : undefined);

/**
 * What a finished check shows that never changes: the verdict, what changed since the check
 * before it, what to do, the evidence per server and how it was tested. Pure (no data loading,
 * no client components: copy buttons come from `copy`), so it can be rendered to HTML once.
 */
export function FinishedReport({ view, diff, advise, copy }: { view: CheckView; diff: CheckDiff | null; advise: Advise; copy?: CopyControl }) {
  return (
    <>
      <VerdictBanner view={view} summary={summaryOf(view)} copy={copy} />
      {diff ? <ChangeList diff={diff} /> : null}
      <Evidence view={view} advise={advise} copy={copy} />
    </>
  );
}

function Evidence({ view, advise, copy }: { view: CheckView; advise: Advise; copy?: CopyControl }) {
  return (
    <>
      {view.servers.length ? <WhatToDo servers={view.servers.map((server) => ({ server, advice: advise(server) }))} /> : null}
      {view.servers.length > 1 ? (
        <nav aria-label="Servers tested" className="text-sm">
          <span className="font-semibold">Servers tested: </span>
          {view.servers.map((s, i) => (
            <span key={i}>
              {i ? " · " : ""}
              <a href={`#${serverSlug(s.ip, s.port)}`}>{s.host}</a>
            </span>
          ))}
        </nav>
      ) : null}
      {view.servers.map((s) => (
        <ServerSection key={`${s.ip}:${s.port}`} server={s} checkId={view.id} summary={view.servers.length > 1} copy={copy} />
      ))}
      <HowTestedBlock view={view} />
    </>
  );
}

function HowTestedBlock({ view }: { view: CheckView }) {
  return (
    <Block id="how-h" title="How this was tested">
      <HowTested view={view} />
    </Block>
  );
}

/** Checking again and the target's history: what changes while the report does not. */
export function ReportActions({ view, history }: { view: CheckView; history: CheckHistoryItem[] }) {
  const live = view.status === "queued" || view.status === "running" || view.status === "waiting";
  return (
    <div className="grid gap-6 md:grid-cols-2">
      <Block id="again-h" title="Check again">
        {live ? (
          <p className="text-sm text-muted">Available when this check has finished.</p>
        ) : (
          <CheckAgain checkId={view.id} target={view.target.name} ports={view.options?.ports ?? [25]} />
        )}
        <p className="text-sm text-muted">
          For scripts: <a href={`/checks/${encodeURIComponent(view.id)}?format=json`}>this report as JSON</a>.
        </p>
      </Block>
      <Block id="history-h" title={`Checks of ${view.target.name}`}>
        <History items={history} currentId={view.id} />
        {history.length > 1 ? (
          <p className="text-sm">
            <a href={`/checks?target=${encodeURIComponent(view.target.name)}`}>All checks of {view.target.name}</a>
          </p>
        ) : null}
      </Block>
    </div>
  );
}
