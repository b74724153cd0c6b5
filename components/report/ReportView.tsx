import type { Advice } from "@/lib/advice";
import { summarizeCheck } from "@/lib/advice/summarize-server";
import type { CheckHistoryItem, CheckView } from "@/lib/checks/types";
import type { ServerReport } from "@/lib/probe/types";
import { CheckAgain } from "./CheckAgain";
import { ChangesSinceLast } from "./ChangesSinceLast";
import { History } from "./History";
import { serverSlug } from "./format";
import { HowTested } from "./HowTested";
import { LiveCheck } from "./LiveCheck";
import { ServerSection } from "./ServerSection";
import { VerdictBanner } from "./VerdictBanner";
import { WhatToDo } from "./WhatToDo";

interface Props {
  view: CheckView;
  history: CheckHistoryItem[];
  /** Advice per server (lib/advice adviseServer). */
  advise: (server: ServerReport) => Advice;
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
 */
export function ReportView({ view, history, advise }: Props) {
  const live = view.status === "queued" || view.status === "running" || view.status === "waiting";
  const done = view.status === "done";
  return (
    <div className="space-y-6">
      <VerdictBanner view={view} summary={done ? summarizeCheck(view.servers, view.reason) : undefined} />
      {live ? null : <ChangesSinceLast view={view} />}
      {live ? (
        <LiveCheck view={view} />
      ) : (
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
            <ServerSection key={`${s.ip}:${s.port}`} server={s} checkId={view.id} summary={view.servers.length > 1} />
          ))}
        </>
      )}
      <Block id="how-h" title="How this was tested">
        <HowTested view={view} />
      </Block>
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
    </div>
  );
}
