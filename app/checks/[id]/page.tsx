import type { Metadata } from "next";
import { notFound, redirect } from "next/navigation";
import { getCheck, listChecksForTarget } from "@/lib/checks";
import { isCheckId } from "@/lib/checks/check-id";
import { adviseServer } from "@/lib/advice";
import { ReportView } from "@/components/report/ReportView";
import { VERDICT } from "@/components/report/labels";

interface Props {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

async function load(id: string) {
  if (!isCheckId(id)) return null;
  return getCheck(id);
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const view = await load(id);
  // Reports are unlisted: never indexed.
  const robots = { index: false, follow: false };
  if (!view) return { title: "No such report", robots };
  const verdict = view.status === "done" && view.verdict ? VERDICT[view.verdict].label : view.status === "failed" ? "check failed" : "checking…";
  return { title: `${view.target.name}: ${verdict}`, robots };
}

export default async function CheckPage({ params, searchParams }: Props) {
  const { id } = await params;
  const { format } = await searchParams;
  if (format === "json") redirect(`/api/v1/checks/${encodeURIComponent(id)}`);
  const view = await load(id);
  if (!view) notFound();
  const history = await listChecksForTarget(view.target.name);
  return <ReportView view={view} history={history} advise={adviseServer} />;
}
