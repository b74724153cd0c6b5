import type { ServerReport } from "@/lib/probe/types";
import type { CopyControl } from "@/components/ui/copy-button-props";
import { Blocklists } from "./Blocklists";
import { CaseGroups } from "./CaseGroups";
import { serverSlug } from "./format";
import { ServerFacts } from "./ServerFacts";
import { ServerHeading } from "./ServerHeading";
import { ProofOfDelivery } from "./ProofOfDelivery";
import { Timeline } from "./Timeline";
import { buildTimeline } from "./timeline-model";
import { Transcript } from "./Transcript";

function Part({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="space-y-2">
      <h3 className="text-lg font-semibold">{title}</h3>
      {children}
    </div>
  );
}

/**
 * The evidence for one server (MX host, address, port), after the verdict and what to do: the
 * counts, the relay tests grouped by reply, what the server told about itself, the conversation
 * on a time axis, and the transcript. Only what was observed: no timeline without a session.
 */
export function ServerSection({ server, checkId, summary, copy }: { server: ServerReport; checkId: string; summary: boolean; copy?: CopyControl }) {
  const slug = serverSlug(server.ip, server.port);
  const timeline = buildTimeline(server);
  return (
    <section aria-labelledby={`${slug}-h`} id={slug} className="card space-y-6 p-4 sm:p-6">
      <ServerHeading server={server} headingId={`${slug}-h`} summary={summary} />
      {server.proof ? <ProofOfDelivery proof={server.proof} /> : null}
      {server.cases.length ? (
        <Part title="Relay tests">
          <CaseGroups cases={server.cases} host={server.host} idPrefix={`${slug}-`} />
        </Part>
      ) : null}
      <Blocklists server={server} />
      <Part title="Server facts">
        <ServerFacts server={server} />
      </Part>
      {timeline.rows.some((r) => r.segments.length) ? (
        <Part title="Timeline">
          <Timeline server={server} model={timeline} />
        </Part>
      ) : null}
      <Part title="Transcript">
        <Transcript server={server} checkId={checkId} copy={copy} />
      </Part>
    </section>
  );
}
