import type { ServerReport } from "@/lib/probe/types";
import { Blocklists } from "./Blocklists";
import { CaseMatrix } from "./CaseMatrix";
import { Findings, type ServerAdvice } from "./Findings";
import { serverSlug } from "./format";
import { ServerFacts } from "./ServerFacts";
import { ServerHeading } from "./ServerHeading";
import { Timeline } from "./Timeline";
import { Transcript } from "./Transcript";

function Part({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="space-y-2">
      <h3 className="text-lg font-semibold">{title}</h3>
      {children}
    </div>
  );
}

/** Everything about one server (MX host, address, port): verdict, cases, advice, facts, proof. */
export function ServerSection({ server, checkId, advice }: { server: ServerReport; checkId: string; advice: ServerAdvice | null }) {
  const slug = serverSlug(server.ip, server.port);
  return (
    <section aria-labelledby={`${slug}-h`} id={slug} className="card space-y-6 p-4 sm:p-6">
      <ServerHeading server={server} headingId={`${slug}-h`} />
      {server.cases.length ? (
        <Part title="Relay tests">
          <CaseMatrix cases={server.cases} caption={`Relay tests on ${server.host}`} />
        </Part>
      ) : null}
      <Part title="What to do">
        <Findings findings={server.findings} advice={advice} />
      </Part>
      <Blocklists server={server} />
      <Part title="Server facts">
        <ServerFacts server={server} />
      </Part>
      <Part title="Timeline">
        <Timeline server={server} />
      </Part>
      <Part title="Transcript">
        <Transcript server={server} checkId={checkId} />
      </Part>
    </section>
  );
}
