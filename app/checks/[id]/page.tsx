import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { isCheckId } from "@/lib/checks/check-id";
import { readCheck } from "@/lib/checks/report-cache";
import { getTargetHistoryCache } from "@/lib/checks/target-history-cache";
import { adviseServer } from "@/lib/advice";
import { ReportActions, ReportView } from "@/components/report/ReportView";
import { StaticHtml } from "@/components/report/StaticHtml";
import { finishedReportHtml } from "@/components/report/render-finished-report";
import { putStaticHtml } from "@/components/report/static-html-handoff";
import { VERDICT } from "@/components/report/labels";

interface Props {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

// Once per request (metadata and page): a finished check from the report cache, else read now.
const load = cache(async (id: string) => (isCheckId(id) ? readCheck(id) : null));

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const check = await load(id);
  // Reports are unlisted: never indexed.
  const robots = { index: false, follow: false };
  const view = check?.finished?.view ?? check?.live;
  if (!view) return { title: "No such report", robots };
  const verdict = view.status === "done" && view.verdict ? VERDICT[view.verdict].label : view.status === "failed" ? "check failed" : "checking…";
  return { title: `${view.target.name}: ${verdict}`, robots };
}

/**
 * The report. A check still queued or running is rendered in React as it is now (LiveCheck
 * follows it). A finished one is the same page, but its unchanging parts are HTML rendered
 * once and kept in the report cache, sent once (StaticHtml); only checking again and the
 * target's history are rendered per request, the history from a list each process keeps for a
 * few seconds (lib/checks/target-history-cache.ts).
 */
export default async function CheckPage({ params, searchParams }: Props) {
  const { id } = await params;
  const { format } = await searchParams;
  if (format === "json") redirect(`/api/v1/checks/${encodeURIComponent(id)}`);
  const check = await load(id);
  if (!check) notFound();
  if (check.live) {
    const history = await getTargetHistoryCache().read(check.live.target.name, check.live, { fresh: true });
    return <ReportView view={check.live} history={history} advise={adviseServer} />;
  }
  const { view } = check.finished;
  const [html, history, requestHeaders] = await Promise.all([finishedReportHtml(check.finished), getTargetHistoryCache().read(view.target.name, view), headers()]);
  // A browser's document request (it accepts HTML) gets the report in the HTML only. Anything
  // else may be a client-side navigation or refresh, which renders from the React payload alone
  // (its "RSC" header never reaches a page behind proxy.ts): the report goes in the payload.
  const documentRequest = (requestHeaders.get("accept") ?? "").includes("text/html");
  const name = `report:${view.id}`;
  if (documentRequest) putStaticHtml(name, html);
  return (
    <div className="space-y-6">
      <StaticHtml name={name} className="space-y-6" html={documentRequest ? undefined : html} />
      <ReportActions view={view} history={history} />
    </div>
  );
}
