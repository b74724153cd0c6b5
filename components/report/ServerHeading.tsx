import { countCases, describeCounts } from "@/lib/advice/describe-cases";
import { summarizeServer } from "@/lib/advice/summarize-server";
import type { ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatMs, plural, serverKey } from "./format";
import { CONNECTION_STATUS, serverVerdictLabel } from "./labels";
import { visible } from "./visible";

/**
 * "mx1.example.com — 192.0.2.25:25 (MX 10)", the server's verdict, and the evidence in counts:
 * how many relay attempts were accepted, how many of those prove relaying, how many refused.
 * `summary`: also the verdict in a sentence (when the banner above speaks of several servers).
 */
export function ServerHeading({ server, headingId, summary = false }: { server: ServerReport; headingId: string; summary?: boolean }) {
  const v = serverVerdictLabel(server);
  const counts = countCases(server.cases);
  // A refusal in the greeting is quoted by the summary and the facts: not a third time here.
  const detail = server.statusDetail && server.status !== "greeting-rejected" && server.status !== "service-unavailable" ? ` (${visible(server.statusDetail)})` : "";
  return (
    <header className="space-y-2">
      <h2 id={headingId} className="text-xl font-bold break-words">
        {server.host}{" "}
        <span className="font-mono text-base font-normal text-muted">
          {serverKey(server.ip, server.port)}
          {server.mxPreference != null ? ` · MX ${server.mxPreference}` : ""}
        </span>
      </h2>
      <p className="flex flex-wrap items-baseline gap-2">
        <Badge tone={v.tone} icon={v.icon}>{v.label}</Badge>
        {counts.relay ? <span data-counts>{sentence(describeCounts(counts))}</span> : null}
      </p>
      {summary ? <p>{summarizeServer(server)}</p> : null}
      <p className="text-sm text-muted">
        {server.status === "ok" ? "Connection: " : "Connection problem: "}
        {CONNECTION_STATUS[server.status]}
        {detail}
        {server.sessions.length ? ` · ${plural(server.sessions.length, "session")}` : ""} · {formatMs(server.timings.totalMs)}
      </p>
    </header>
  );
}

function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
