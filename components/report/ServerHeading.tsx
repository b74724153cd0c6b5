import type { ServerReport } from "@/lib/probe/types";
import { Badge } from "@/components/ui/Badge";
import { formatMs, plural, serverKey } from "./format";
import { CONNECTION_STATUS, VERDICT } from "./labels";
import { visible } from "./visible";

/** "mx1.example.com — 192.0.2.25:25 (MX 10)", then the server's verdict and why. */
export function ServerHeading({ server, headingId }: { server: ServerReport; headingId: string }) {
  const v = VERDICT[server.verdict];
  const relayed = server.cases.filter((c) => c.evidence && c.outcome === "accepted").length;
  const relayCases = server.cases.filter((c) => c.group !== "baseline").length;
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
        <span>{server.reason}</span>
      </p>
      <p className="text-sm text-muted">
        {server.status === "ok" ? "Connection: " : "Connection problem: "}
        {CONNECTION_STATUS[server.status]}
        {server.statusDetail ? ` (${visible(server.statusDetail)})` : ""}
        {relayCases ? ` · ${relayed} of ${plural(relayCases, "relay case")} accepted` : ""}
        {` · ${plural(server.sessions.length, "session")} · ${formatMs(server.timings.totalMs)}`}
      </p>
    </header>
  );
}
