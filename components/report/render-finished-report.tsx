import { adviseServer } from "@/lib/advice";
import { findPreviousCheckId, getCheckDiff } from "@/lib/checks/get-check-diff";
import { getReportCache, type FinishedReport } from "@/lib/checks/report-cache";
import { StaticCopyButton } from "@/components/ui/StaticCopyButton";
import { FinishedReport as FinishedReportParts } from "./ReportView";

const RENDERING = "page";

/**
 * The HTML of a finished report's unchanging parts (ReportView's `FinishedReport`): rendered
 * once per cached report and kept with it in the report cache, so a page view costs no
 * rendering of the report. What changed since the check before is part of it: that check is
 * finished too.
 */
export async function finishedReportHtml(report: FinishedReport): Promise<string> {
  const held = report.renderings.get(RENDERING);
  if (held !== undefined) return held;
  const { view } = report;
  const previousId = view.status === "done" ? await findPreviousCheckId(view) : null;
  const diff = previousId ? await getCheckDiff(view.id, previousId) : null;
  // Plain server rendering to a string (no React payload): allowed here as a dynamic import.
  const { renderToStaticMarkup } = await import("react-dom/server");
  const html = renderToStaticMarkup(<FinishedReportParts view={view} diff={diff} advise={adviseServer} copy={StaticCopyButton} />);
  getReportCache().addRendering(view.id, report, RENDERING, html);
  return html;
}
