import { readCheck } from "@/lib/checks/report-cache";
import { FINISHED_REPORT_HEADERS } from "@/app/api/_lib/report-headers";
import { serverKey } from "@/components/report/format";
import { transcriptText } from "@/components/report/transcript-text";

/**
 * GET /checks/<id>/transcript[?server=<ip:port>]: the SMTP transcript as a plain-text download
 * (all servers without `server`). A link, so it works without JavaScript.
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await params;
  const check = await readCheck(id);
  const view = check ? (check.finished?.view ?? check.live) : null;
  if (!view) return new Response("No such report.\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  const wanted = new URL(request.url).searchParams.get("server");
  const servers = wanted ? view.servers.filter((s) => serverKey(s.ip, s.port) === wanted) : view.servers;
  if (!servers.length) return new Response("No such server in this report.\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  const body = `# relaycheck ${view.id} · ${view.target.name} · ${view.finishedAt ?? view.createdAt}\n` + servers.map(transcriptText).join("\n");
  const name = `relaycheck-${view.id}${wanted ? `-${wanted.replace(/[^0-9a-zA-Z.]/g, "_")}` : ""}.txt`;
  return new Response(body, {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "x-content-type-options": "nosniff",
      ...(check?.finished ? FINISHED_REPORT_HEADERS : { "cache-control": "no-store" }),
    },
  });
}
